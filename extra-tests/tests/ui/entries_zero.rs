#[coring::main(cq_entries = 1024, entries = 0)]
async fn main() {}
