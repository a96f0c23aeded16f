#[coring::main(entries = 256, entries = 512)]
async fn main() {}
