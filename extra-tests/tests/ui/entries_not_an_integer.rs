#[coring::main(entries = "256")]
async fn main() {}
