//! The upload zone: drop files on it or pick them with the button.

use leptos::ev::{DragEvent, Event};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{File, FileList, HtmlInputElement};

#[component]
pub fn UploadZone(
    /// Called with the files the user dropped or picked.
    on_files: Callback<Vec<File>>,
    /// Whether an upload is under way (shows progress, disables the zone).
    busy: Signal<bool>,
) -> impl IntoView {
    let hovering = RwSignal::new(false);
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        hovering.set(false);
        if let Some(files) = ev.data_transfer().and_then(|dt| dt.files()) {
            on_files.run(to_vec(&files));
        }
    };
    let on_pick = move |ev: Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(files) = input.files() {
            on_files.run(to_vec(&files));
        }
        input.set_value("");
    };
    view! {
        <div
            class="dropzone"
            class:hover=move || hovering.get()
            on:dragover=move |ev: DragEvent| { ev.prevent_default(); hovering.set(true); }
            on:dragleave=move |_| hovering.set(false)
            on:drop=on_drop
        >
            <p>"Drop training logs here (CSV, JSON, Parquet, trainer_state.json, W&B exports, TensorBoard event files, console logs), or "</p>
            <label class="button">
                "choose files"
                <input id="file-input" type="file" multiple on:change=on_pick disabled=move || busy.get()/>
            </label>
            <Show when=move || busy.get()>
                <p class="progress">"Uploading..."</p>
            </Show>
        </div>
    }
}

fn to_vec(files: &FileList) -> Vec<File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}
