//! Umbra's UI entry point: a Leptos CSR app that renders state and sends commands to the
//! worker (which owns every key). Registers the service worker and mounts [`ui::App`].

mod browser;
mod call;
mod format;
mod qr;
mod state;
#[allow(unreachable_pub)] // `#[component]` expands to `pub` props structs.
mod ui;
mod worker_client;

fn main() {
    console_error_panic_hook::set_once();
    browser::register_service_worker();
    leptos::mount::mount_to_body(ui::App);
}
