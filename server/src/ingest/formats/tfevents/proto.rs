//! The TensorBoard protobuf messages the reader needs, written by hand for `prost` (no
//! protoc). Fields not listed (graphs, images, histograms...) are skipped when decoding.

/// `tensorboard.Event`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// The first record of a file: `brain.Event:2`.
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

/// `Summary.Value`: a scalar is `simple_value` (PyTorch, TF1) or a rank-0 tensor (TF2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// `DataType`: DT_FLOAT = 1, DT_DOUBLE = 2.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    #[prost(int64, tag = "1")]
    pub size: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

pub const DT_FLOAT: i32 = 1;
pub const DT_DOUBLE: i32 = 2;

impl TensorProto {
    /// The value of a one-element float or double tensor.
    pub fn scalar(&self) -> Option<f64> {
        let elements: i64 = self
            .tensor_shape
            .as_ref()
            .map_or(1, |s| s.dim.iter().map(|d| d.size).product());
        if elements != 1 {
            return None;
        }
        match self.dtype {
            DT_FLOAT => match (self.float_val.first(), self.tensor_content.as_slice()) {
                (Some(v), _) => Some(f64::from(*v)),
                (None, [a, b, c, d]) => Some(f64::from(f32::from_le_bytes([*a, *b, *c, *d]))),
                _ => None,
            },
            DT_DOUBLE => match (self.double_val.first(), self.tensor_content.as_slice()) {
                (Some(v), _) => Some(*v),
                (None, bytes) => Some(f64::from_le_bytes(bytes.try_into().ok()?)),
            },
            _ => None,
        }
    }
}
