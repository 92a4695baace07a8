//! curvecast's web app: a thin entry point that sets the panic hook and mounts [`app::App`].

mod api;
mod app;
mod components;
mod download;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
