#[coring::main(entires = 256)]
async fn main() {}
