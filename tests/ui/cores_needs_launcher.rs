#[coring::main(cores = "all")]
async fn main() {}
