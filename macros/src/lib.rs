//! placeholder until the macros land
#![allow(missing_docs)]
use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn main(_a: TokenStream, i: TokenStream) -> TokenStream { i }
#[proc_macro_attribute]
pub fn test(_a: TokenStream, i: TokenStream) -> TokenStream { i }
