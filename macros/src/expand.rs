//! The expansion: checks the annotated function's shape and turns the
//! `async fn` into a sync fn that builds a runtime and `block_on`s the body.
//!
//! Options are parsed in `options.rs`; this file decides what each option
//! becomes in the generated code. Without `cores` the body runs once on a
//! runtime on the calling thread; with `cores` it runs once per core under
//! the launcher (`Builder::run`), and the per-core results are combined by
//! `launcher::MainOutput` (`()`, or the first `Err`).
//!
//! On an error the output still defines a function of the same name (with
//! the default options if the options were wrong, or an empty stub if the
//! function itself was), so that the attribute's error is the only one.

use crate::options::{Cores, Options};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{spanned::Spanned, AttrStyle, Attribute, Block, Ident, ItemFn};

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[coring::main]`.
    Main,
    /// `#[coring::test]`: also emits `#[test]`.
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for error messages.
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[coring::main]",
            Kind::Test => "#[coring::test]",
        }
    }
}

/// Expands `#[coring::main]` / `#[coring::test]` with arguments `attr` on
/// `item`.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();

    let options = match syn::parse2::<Options>(attr) {
        Ok(options) => options,
        Err(e) => {
            errors.push(e);
            Options::default()
        }
    };
    let options = match check_options(options) {
        Ok(options) => options,
        Err(e) => {
            errors.push(e);
            Options::default()
        }
    };

    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            errors.push(syn::Error::new(
                e.span(),
                format!("{} goes on an `async fn`: {e}", kind.attr()),
            ));
            // Not a function: give the item back untouched.
            return with_errors(item, errors);
        }
    };

    let shape_errors = check_fn(kind, &func);
    if !shape_errors.is_empty() {
        errors.extend(shape_errors);
        return with_errors(stub(&func), errors);
    }
    with_errors(generate(kind, options, func), errors)
}

/// Checks options against each other (none conflict today).
fn check_options(options: Options) -> syn::Result<Options> {
    Ok(options)
}

/// Whether `attr` is the built-in `#[test]` (`test`, `::core::prelude::v1::test`,
/// `std::prelude::rust_2021::test`, ...).
fn is_test_attribute(attr: &Attribute) -> bool {
    let path = attr.path();
    let Some(last) = path.segments.last() else {
        return false;
    };
    if last.ident != "test" {
        return false;
    }
    match path.segments.len() {
        1 => path.leading_colon.is_none(),
        4 => {
            let first = &path.segments[0].ident;
            (first == "core" || first == "std") && path.segments[1].ident == "prelude"
        }
        _ => false,
    }
}

/// Everything wrong with the function's shape, each error at its token.
fn check_fn(kind: Kind, func: &ItemFn) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    let sig = &func.sig;

    if kind == Kind::Test {
        for attr in &func.attrs {
            if matches!(attr.style, AttrStyle::Outer) && is_test_attribute(attr) {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "second #[test] attribute: #[coring::test] already adds #[test]; remove this one",
                ));
            }
        }
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if !sig.inputs.is_empty() {
        let hint = match kind {
            Kind::Main => "; read command-line arguments with `std::env::args()`",
            Kind::Test => "",
        };
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!("{} functions take no arguments{hint}", kind.attr()),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            format!("{} functions take no arguments", kind.attr()),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("{} functions cannot be generic", kind.attr()),
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            format!("{} functions cannot have a `where` clause", kind.attr()),
        ));
    }
    errors
}

/// What to emit when the function itself is wrong: a function of the same
/// name, so that nothing else (`main` missing, unused items) is reported.
fn stub(func: &ItemFn) -> TokenStream {
    let vis = &func.vis;
    let ident = &func.sig.ident;
    quote! {
        #[allow(dead_code)]
        #vis fn #ident() {}
    }
}

/// The sync function running the body on a fresh runtime.
fn generate(kind: Kind, options: Options, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.asyncness = None;

    let (outer, inner): (Vec<Attribute>, Vec<Attribute>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Outer));
    let test_attr = match kind {
        Kind::Main => quote!(),
        Kind::Test => quote!(#[::core::prelude::v1::test]),
    };

    let entries = options.entries.map(|n| {
        let mut lit = Literal::u32_unsuffixed(n.value);
        lit.set_span(n.span);
        quote_spanned!(n.span=> .entries(#lit))
    });
    let cq_entries = options.cq_entries.map(|n| {
        let mut lit = Literal::u32_unsuffixed(n.value);
        lit.set_span(n.span);
        quote_spanned!(n.span=> .cq_entries(#lit))
    });
    // `start_size(sq, cq)`: one of the two alone keeps the other's default
    // start (SQ 256, CQ 1024).
    let start = match (&options.start_entries, &options.start_cq_entries) {
        (None, None) => None,
        (sq, cq) => {
            let span = sq.as_ref().or(cq.as_ref()).map(|s| s.span).unwrap();
            let sq = Literal::u32_unsuffixed(sq.as_ref().map_or(256, |s| s.value));
            let cq = Literal::u32_unsuffixed(cq.as_ref().map_or(1024, |s| s.value));
            Some(quote_spanned!(span=> .start_size(#sq, #cq)))
        }
    };
    let adaptive = options.adaptive.map(|b| {
        let v = b.value;
        quote_spanned!(b.span=> .adaptive(#v))
    });
    let entries = quote!(#entries #start #adaptive);

    // The body keeps its own tokens and braces, so errors inside it point at
    // the user's code. The runtime expression is the fn's tail, so a body
    // whose value does not match the return type is reported on its span:
    // it starts at the first token of the body's last statement and ends at
    // its last token, so the error underlines that statement (the body's
    // braces if it is empty), as it would in a sync fn.
    let Block { brace_token, stmts } = *block;
    let (start, end) = match stmts.last() {
        Some(last) => {
            let mut tokens = last.to_token_stream().into_iter();
            let start = tokens.next().map_or(brace_token.span.open(), |t| t.span());
            let end = tokens.last().map_or(start, |t| t.span());
            (start, end)
        }
        None => (brace_token.span.open(), brace_token.span.close()),
    };
    let body = Block { brace_token, stmts };
    // A `crate = "..."` path keeps the string's span, so a wrong path is
    // reported on the string; it goes in `<...>` spanned like the default
    // path, so that the tail expression still starts at `start`.
    let body_ident = Ident::new("__coring_body", Span::mixed_site());
    let (builder, module) = match options.krate {
        Some(path) => {
            let path = path.value;
            (
                quote_spanned!(start=> <#path::Builder>::new()),
                quote!(#path),
            )
        }
        None => (
            quote_spanned!(start=> ::coring::runtime::Builder::new()),
            quote!(::coring::runtime),
        ),
    };
    if let Some(cores) = options.cores {
        // One copy of the body runs on every core, under the launcher.
        let cores_expr = match cores.value {
            Cores::All => quote_spanned!(cores.span=> #module::Cores::All),
            Cores::Count(n) => {
                let n = Literal::usize_unsuffixed(n as usize);
                quote_spanned!(cores.span=> #module::Cores::Count(#n))
            }
        };
        // A test must not take over SIGINT/SIGTERM for the whole test
        // binary (the handler stays installed after the test).
        let signals = match kind {
            Kind::Test => quote_spanned!(end=> .shutdown_on_signals(false)),
            Kind::Main => quote!(),
        };
        let run = quote_spanned! {end=>
            match #builder
                #entries
                #cq_entries
                .cores(#cores_expr)
                #signals
                .run(move |_core| async move #body)
            {
                ::core::result::Result::Ok(outputs) => #module::launcher::MainOutput::combine(outputs),
                ::core::result::Result::Err(error) => #module::launcher::MainOutput::start_error(error),
            }
        };
        return quote! {
            #test_attr
            #(#outer)*
            #vis #sig {
                #(#inner)*
                #run
            }
        };
    }
    let run = quote_spanned! {end=>
        #builder
            #entries
            #cq_entries
            .build()
            .expect("coring: failed to build the runtime")
            .block_on(#body_ident)
    };

    let fn_body = quote_spanned! {body.span()=>
        {
            #(#inner)*
            let #body_ident = async move #body;
            #run
        }
    };

    quote! {
        #test_attr
        #(#outer)*
        #vis #sig #fn_body
    }
}

/// `tokens` followed by each error as a `compile_error!`.
fn with_errors(mut tokens: TokenStream, errors: Vec<syn::Error>) -> TokenStream {
    for error in errors {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, attr: &str, item: &str) -> String {
        let attr: TokenStream = attr.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        expand(kind, attr, item).to_string()
    }

    /// The `compile_error!` messages in an expansion.
    fn errors(kind: Kind, attr: &str, item: &str) -> Vec<String> {
        let out = expand_str(kind, attr, item);
        out.split(":: core :: compile_error ! {")
            .skip(1)
            .map(|s| {
                let start = s.find('"').unwrap();
                let end = s.rfind('"').unwrap();
                s[start + 1..end].to_string()
            })
            .collect()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    #[test]
    fn ring_sizing_options_reach_the_builder() {
        let out = squash(&expand_str(
            Kind::Main,
            "entries = 4096, start_cq_entries = 512, adaptive = false",
            "async fn main() {}",
        ));
        assert!(out.contains(&squash(".entries(4096)")), "{out}");
        assert!(out.contains(&squash(".start_size(256, 512)")), "{out}");
        assert!(out.contains(&squash(".adaptive(false)")), "{out}");
        let e = errors(Kind::Main, "adaptive = 1", "async fn main() {}");
        assert_eq!(e, ["`adaptive` expects `true` or `false`"]);
        let e = errors(Kind::Main, "start_entries = 0", "async fn main() {}");
        assert_eq!(e, ["`start_entries` must be greater than zero"]);
    }

    #[test]
    fn main_becomes_a_sync_fn_running_the_body() {
        let out = expand_str(
            Kind::Main,
            "entries = 256, cq_entries = 1024",
            "pub async fn main() -> std::io::Result<()> { work().await?; Ok(()) }",
        );
        let expected = quote! {
            pub fn main() -> std::io::Result<()> {
                let __coring_body = async move { work().await?; Ok(()) };
                ::coring::runtime::Builder::new()
                    .entries(256)
                    .cq_entries(1024)
                    .build()
                    .expect("coring: failed to build the runtime")
                    .block_on(__coring_body)
            }
        };
        assert_eq!(squash(&out), squash(&expected.to_string()));
    }

    #[test]
    fn test_adds_test_and_keeps_other_attributes() {
        let out = expand_str(
            Kind::Test,
            "",
            "#[should_panic(expected = \"boom\")] #[ignore] async fn t() { #![allow(unused)] panic!(\"boom\") }",
        );
        let expected = quote! {
            #[::core::prelude::v1::test]
            #[should_panic(expected = "boom")]
            #[ignore]
            fn t() {
                #![allow(unused)]
                let __coring_body = async move { panic!("boom") };
                ::coring::runtime::Builder::new()
                    .build()
                    .expect("coring: failed to build the runtime")
                    .block_on(__coring_body)
            }
        };
        assert_eq!(squash(&out), squash(&expected.to_string()));
    }

    #[test]
    fn crate_option_replaces_the_builder_path() {
        let out = expand_str(
            Kind::Main,
            "crate = \"::coring_runtime\"",
            "async fn main() {}",
        );
        assert!(
            squash(&out).contains(&squash("< :: coring_runtime :: Builder > :: new ()")),
            "{out}"
        );
        assert!(!out.contains("coring :: runtime"), "{out}");
    }

    #[test]
    fn cores_use_the_launcher() {
        let out = expand_str(Kind::Main, "cores = \"all\"", "async fn main() {}");
        assert!(
            out.contains(". cores (:: coring :: runtime :: Cores :: All)"),
            "{out}"
        );
        assert!(out.contains(". run (move | _core | async move"), "{out}");
        assert!(out.contains("MainOutput :: combine"), "{out}");
        let out = expand_str(Kind::Main, "cores = \"4\"", "async fn main() {}");
        assert!(out.contains("Cores :: Count (4)"), "{out}");
        assert!(errors(Kind::Main, "cores = \"4\"", "async fn main() {}").is_empty());
        // A server stops on SIGINT/SIGTERM; a test leaves the signals alone.
        assert!(!out.contains("shutdown_on_signals"), "{out}");
        let out = expand_str(Kind::Test, "cores = \"2\"", "async fn t() {}");
        assert!(out.contains(". shutdown_on_signals (false)"), "{out}");
    }

    #[test]
    fn bad_options_still_expand_the_function_with_defaults() {
        let out = expand_str(Kind::Main, "entries = 0", "async fn main() {}");
        assert!(out.contains("block_on"), "{out}");
        assert!(out.contains("must be greater than zero"), "{out}");
    }

    #[test]
    fn missing_async() {
        assert_eq!(
            errors(Kind::Main, "", "fn main() {}"),
            ["the `async` keyword is missing from the function declaration"]
        );
        assert_eq!(
            errors(Kind::Test, "", "fn t() {}"),
            ["the `async` keyword is missing from the function declaration"]
        );
    }

    #[test]
    fn arguments_and_generics_are_rejected_together() {
        assert_eq!(
            errors(Kind::Test, "", "fn t<T>(x: T) where T: Copy {}"),
            [
                "the `async` keyword is missing from the function declaration",
                "#[coring::test] functions take no arguments",
                "#[coring::test] functions cannot be generic",
                "#[coring::test] functions cannot have a `where` clause",
            ]
        );
        assert_eq!(
            errors(Kind::Main, "", "async fn main(n: u32) {}"),
            ["#[coring::main] functions take no arguments; read command-line arguments with `std::env::args()`"]
        );
    }

    #[test]
    fn function_errors_leave_a_stub_of_the_same_name() {
        let out = expand_str(Kind::Main, "", "pub async fn main(n: u32) { n }");
        assert!(
            squash(&out).starts_with(&squash("#[allow(dead_code)] pub fn main() {}")),
            "{out}"
        );
    }

    #[test]
    fn second_test_attribute() {
        let msg = "second #[test] attribute: #[coring::test] already adds #[test]; remove this one";
        for attr in [
            "#[test]",
            "#[::core::prelude::v1::test]",
            "#[std::prelude::rust_2021::test]",
        ] {
            assert_eq!(
                errors(Kind::Test, "", &format!("{attr} async fn t() {{}}")),
                [msg],
                "{attr}"
            );
        }
        // Not the built-in one: left alone.
        assert!(errors(Kind::Test, "", "#[other::test] async fn t() {}").is_empty());
        // #[coring::main] does not care.
        assert!(errors(Kind::Main, "", "#[test] async fn t() {}").is_empty());
    }

    #[test]
    fn not_a_function() {
        let out = expand_str(Kind::Main, "", "struct S;");
        assert!(out.starts_with("struct S ;"), "{out}");
        assert_eq!(
            errors(Kind::Main, "", "struct S;"),
            ["#[coring::main] goes on an `async fn`: expected `fn`"]
        );
    }

    #[test]
    fn option_and_function_errors_are_both_reported() {
        assert_eq!(
            errors(Kind::Main, "bogus = 1", "fn main() {}"),
            [
                "unknown option `bogus`; the valid options are `entries`, `cq_entries`, `start_entries`, `start_cq_entries`, `adaptive`, `cores`, `crate`",
                "the `async` keyword is missing from the function declaration",
            ]
        );
    }
}
