//! Compile-fail tests for #[coring::main] and #[coring::test] attribute errors.
#[test]
fn attribute_errors_point_at_the_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
