//! A small TensorBoard event-file writer: the project writes its own sample files (and
//! test files) with it, so every reader test is a round trip.

use prost::Message;

use super::proto::{
    DT_FLOAT, Event, PluginData, Summary, SummaryMetadata, TensorProto, TensorShapeProto, Value,
};
use super::record;

/// Builds an event file in memory.
pub struct EventWriter {
    bytes: Vec<u8>,
}

impl EventWriter {
    /// A file that starts with the `brain.Event:2` record, as TensorBoard's writers do.
    pub fn new(wall_time: f64) -> Self {
        let mut writer = Self { bytes: Vec::new() };
        writer.event(&Event {
            wall_time,
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        });
        writer
    }

    /// A scalar as PyTorch's `add_scalar` writes it (`simple_value`).
    pub fn add_scalar(&mut self, tag: &str, step: i64, value: f32, wall_time: f64) {
        let value = Value {
            tag: tag.into(),
            simple_value: Some(value),
            tensor: None,
            metadata: None,
        };
        self.event(&Event {
            wall_time,
            step,
            file_version: None,
            summary: Some(Summary { value: vec![value] }),
        });
    }

    /// A scalar as TF2's `tf.summary.scalar` writes it: a rank-0 DT_FLOAT tensor in
    /// `tensor_content`, with the `scalars` plugin named.
    pub fn add_tensor_scalar(&mut self, tag: &str, step: i64, value: f32, wall_time: f64) {
        let tensor = TensorProto {
            dtype: DT_FLOAT,
            tensor_shape: Some(TensorShapeProto::default()),
            tensor_content: value.to_le_bytes().to_vec(),
            float_val: Vec::new(),
            double_val: Vec::new(),
        };
        let metadata = SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "scalars".into(),
                content: Vec::new(),
            }),
        };
        let value = Value {
            tag: tag.into(),
            simple_value: None,
            tensor: Some(tensor),
            metadata: Some(metadata),
        };
        self.event(&Event {
            wall_time,
            step,
            file_version: None,
            summary: Some(Summary { value: vec![value] }),
        });
    }

    pub fn event(&mut self, event: &Event) {
        record::write(&mut self.bytes, &event.encode_to_vec());
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
