//! Entry point of the module worker built by trunk (`data-type="worker"`): starts the port.
fn main() {
    umbra_worker::port::start();
}
