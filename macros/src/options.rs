//! The attribute arguments: parses `key = value, ...` into [`Options`] and
//! checks each value, with errors pointing at the offending token.
//!
//! This file knows the syntax and the valid values of every option; what an
//! option turns into (and which valid values cannot be honoured yet) is
//! `expand.rs`'s business.

use proc_macro2::Span;
use syn::{
    ext::IdentExt,
    parse::{Parse, ParseStream},
    Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token,
};

/// The option names, in the order the "unknown option" error lists them.
pub(crate) const KEYS: &[&str] = &[
    "entries",
    "cq_entries",
    "start_entries",
    "start_cq_entries",
    "adaptive",
    "cores",
    "crate",
];

/// The parsed attribute arguments; `None` means "not given".
#[derive(Default)]
pub(crate) struct Options {
    /// `entries = N`: submission queue entries.
    pub(crate) entries: Option<Spanned<u32>>,
    /// `cq_entries = N`: completion queue entries.
    pub(crate) cq_entries: Option<Spanned<u32>>,
    /// `start_entries = N`: the submission queue an adaptive ring starts at.
    pub(crate) start_entries: Option<Spanned<u32>>,
    /// `start_cq_entries = N`: the completion queue it starts at.
    pub(crate) start_cq_entries: Option<Spanned<u32>>,
    /// `adaptive = true | false`: whether rings grow and shrink with load.
    pub(crate) adaptive: Option<Spanned<bool>>,
    /// `cores = "all" | "N"`: how many cores to run on.
    pub(crate) cores: Option<Spanned<Cores>>,
    /// `crate = "path"`: the module exposing `Builder`.
    pub(crate) krate: Option<Spanned<syn::Path>>,
}

/// A value and the span of the token it came from.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    /// The value.
    pub(crate) value: T,
    /// Where the value was written.
    pub(crate) span: Span,
}

/// The value of `cores`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cores {
    /// `cores = "all"`: one executor per available core.
    All,
    /// `cores = "N"`, N > 0.
    Count(u32),
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options::default();
        while !input.is_empty() {
            // `parse_any` so that the keyword `crate` is accepted as a key.
            let key = Ident::parse_any(input)?;
            let name = key.unraw().to_string();
            if !KEYS.contains(&name.as_str()) {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown option `{name}`; the valid options are {}",
                        KEYS.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if !input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{name}` needs a value: `{name} = {}`", example(&name)),
                ));
            }
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            let duplicate = || {
                syn::Error::new(
                    key.span(),
                    format!("duplicate option `{name}`; give each option at most once"),
                )
            };
            match name.as_str() {
                "entries" => {
                    if options.entries.is_some() {
                        return Err(duplicate());
                    }
                    options.entries = Some(ring_size(&name, &value)?);
                }
                "cq_entries" => {
                    if options.cq_entries.is_some() {
                        return Err(duplicate());
                    }
                    options.cq_entries = Some(ring_size(&name, &value)?);
                }
                "start_entries" => {
                    if options.start_entries.is_some() {
                        return Err(duplicate());
                    }
                    options.start_entries = Some(ring_size(&name, &value)?);
                }
                "start_cq_entries" => {
                    if options.start_cq_entries.is_some() {
                        return Err(duplicate());
                    }
                    options.start_cq_entries = Some(ring_size(&name, &value)?);
                }
                "adaptive" => {
                    if options.adaptive.is_some() {
                        return Err(duplicate());
                    }
                    options.adaptive = Some(boolean(&name, &value)?);
                }
                "cores" => {
                    if options.cores.is_some() {
                        return Err(duplicate());
                    }
                    options.cores = Some(cores(&value)?);
                }
                "crate" => {
                    if options.krate.is_some() {
                        return Err(duplicate());
                    }
                    options.krate = Some(crate_path(&value)?);
                }
                _ => unreachable!("every name in KEYS is handled"),
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(options)
    }
}

/// An example value for `key`, for error messages.
fn example(key: &str) -> &'static str {
    match key {
        "entries" | "start_entries" => "256",
        "cq_entries" | "start_cq_entries" => "1024",
        "adaptive" => "false",
        "cores" => "\"all\"",
        _ => "\"coring::runtime\"",
    }
}

/// The value as a literal, if it is one.
fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        _ => None,
    }
}

/// `entries` / `cq_entries`: an integer literal in `1..=u32::MAX`.
fn ring_size(key: &str, value: &Expr) -> syn::Result<Spanned<u32>> {
    let lit: &LitInt = match literal(value) {
        Some(Lit::Int(lit)) => lit,
        _ => {
            return Err(syn::Error::new_spanned(
                value,
                format!(
                    "`{key}` expects an integer literal, like `{key} = {}`",
                    example(key)
                ),
            ))
        }
    };
    let n: u32 = lit.base10_parse().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("`{key}` must fit in a u32 (at most {})", u32::MAX),
        )
    })?;
    if n == 0 {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` must be greater than zero"),
        ));
    }
    Ok(Spanned {
        value: n,
        span: lit.span(),
    })
}

/// `adaptive`: `true` or `false`.
fn boolean(key: &str, value: &Expr) -> syn::Result<Spanned<bool>> {
    match literal(value) {
        Some(Lit::Bool(b)) => Ok(Spanned {
            value: b.value,
            span: b.span,
        }),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{key}` expects `true` or `false`"),
        )),
    }
}

/// `cores`: the string `"all"` or a positive integer string.
fn cores(value: &Expr) -> syn::Result<Spanned<Cores>> {
    let lit: &LitStr = match literal(value) {
        Some(Lit::Str(lit)) => lit,
        _ => return Err(syn::Error::new_spanned(
            value,
            "`cores` expects a string: `cores = \"all\"` or a number of cores like `cores = \"4\"`",
        )),
    };
    let text = lit.value();
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let cores = match text.as_str() {
        "all" => Cores::All,
        n => match n.parse::<u32>() {
            Ok(n) if digits && n > 0 => Cores::Count(n),
            _ => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "`cores` must be \"all\" or a positive number of cores, not {:?}",
                        text
                    ),
                ))
            }
        },
    };
    Ok(Spanned {
        value: cores,
        span: lit.span(),
    })
}

/// `crate`: a string holding the path of the module exposing `Builder`.
fn crate_path(value: &Expr) -> syn::Result<Spanned<syn::Path>> {
    let lit: &LitStr = match literal(value) {
        Some(Lit::Str(lit)) => lit,
        _ => {
            return Err(syn::Error::new_spanned(
                value,
                "`crate` expects a path in a string, like `crate = \"coring::runtime\"`",
            ))
        }
    };
    let path: syn::Path = lit.parse().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate` expects the path of a module exposing `Builder`, like \"coring::runtime\"; {:?} is not a path",
                lit.value()
            ),
        )
    })?;
    Ok(Spanned {
        value: path,
        span: lit.span(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn parse(s: &str) -> Options {
        syn::parse_str(s).unwrap_or_else(|e| panic!("{s:?} failed to parse: {e}"))
    }

    fn error(s: &str) -> String {
        match syn::parse_str::<Options>(s) {
            Ok(_) => panic!("{s:?} parsed, expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_means_all_defaults() {
        let o = parse("");
        assert!(o.entries.is_none());
        assert!(o.cq_entries.is_none());
        assert!(o.cores.is_none());
        assert!(o.krate.is_none());
    }

    #[test]
    fn every_option_at_once_with_trailing_comma() {
        let o = parse(r#"entries = 256, cq_entries = 1_024, cores = "1", crate = "my::rt","#);
        assert_eq!(o.entries.unwrap().value, 256);
        assert_eq!(o.cq_entries.unwrap().value, 1024);
        assert_eq!(o.cores.unwrap().value, Cores::Count(1));
        let path = o.krate.unwrap().value;
        assert_eq!(path.to_token_stream().to_string(), "my :: rt");
    }

    #[test]
    fn integer_suffixes_and_radixes_are_accepted() {
        assert_eq!(parse("entries = 256u32").entries.unwrap().value, 256);
        assert_eq!(parse("entries = 0x100").entries.unwrap().value, 256);
        assert_eq!(
            parse(&format!("cq_entries = {}", u32::MAX))
                .cq_entries
                .unwrap()
                .value,
            u32::MAX
        );
    }

    #[test]
    fn cores_all_and_counts() {
        assert_eq!(parse(r#"cores = "all""#).cores.unwrap().value, Cores::All);
        assert_eq!(
            parse(r#"cores = "8""#).cores.unwrap().value,
            Cores::Count(8)
        );
    }

    #[test]
    fn crate_accepts_absolute_paths() {
        let path = parse(r#"crate = "::coring_runtime""#).krate.unwrap().value;
        assert!(path.leading_colon.is_some());
        assert_eq!(path.segments.len(), 1);
        assert_eq!(path.segments[0].ident, "coring_runtime");
    }

    #[test]
    fn unknown_key_lists_the_valid_ones() {
        assert_eq!(
            error("entires = 256"),
            "unknown option `entires`; the valid options are `entries`, `cq_entries`, `start_entries`, `start_cq_entries`, `adaptive`, `cores`, `crate`"
        );
        assert!(error("flavor = \"current_thread\"").starts_with("unknown option `flavor`"));
    }

    #[test]
    fn entries_must_be_a_positive_integer_literal() {
        assert_eq!(
            error(r#"entries = "256""#),
            "`entries` expects an integer literal, like `entries = 256`"
        );
        assert_eq!(
            error("cq_entries = 1024.0"),
            "`cq_entries` expects an integer literal, like `cq_entries = 1024`"
        );
        assert_eq!(
            error("entries = -1"),
            "`entries` expects an integer literal, like `entries = 256`"
        );
        assert_eq!(
            error("entries = N"),
            "`entries` expects an integer literal, like `entries = 256`"
        );
        assert_eq!(error("entries = 0"), "`entries` must be greater than zero");
        assert_eq!(
            error("cq_entries = 0"),
            "`cq_entries` must be greater than zero"
        );
        assert_eq!(
            error("entries = 4294967296"),
            "`entries` must fit in a u32 (at most 4294967295)"
        );
    }

    #[test]
    fn duplicate_key_is_an_error() {
        assert_eq!(
            error("entries = 256, entries = 512"),
            "duplicate option `entries`; give each option at most once"
        );
        assert_eq!(
            error(r#"crate = "a", crate = "b""#),
            "duplicate option `crate`; give each option at most once"
        );
    }

    #[test]
    fn key_without_value() {
        assert_eq!(error("entries"), "`entries` needs a value: `entries = 256`");
        assert_eq!(
            error("cores, entries = 1"),
            "`cores` needs a value: `cores = \"all\"`"
        );
    }

    #[test]
    fn missing_comma() {
        assert_eq!(error("entries = 1 cq_entries = 2"), "expected `,`");
    }

    #[test]
    fn bad_cores_values() {
        assert_eq!(
            error("cores = 4"),
            "`cores` expects a string: `cores = \"all\"` or a number of cores like `cores = \"4\"`"
        );
        assert_eq!(
            error(r#"cores = "0""#),
            "`cores` must be \"all\" or a positive number of cores, not \"0\""
        );
        assert_eq!(
            error(r#"cores = "+4""#),
            "`cores` must be \"all\" or a positive number of cores, not \"+4\""
        );
        assert_eq!(
            error(r#"cores = "many""#),
            "`cores` must be \"all\" or a positive number of cores, not \"many\""
        );
    }

    #[test]
    fn bad_crate_values() {
        assert_eq!(
            error("crate = coring"),
            "`crate` expects a path in a string, like `crate = \"coring::runtime\"`"
        );
        assert_eq!(
            error(r#"crate = "not a path""#),
            "`crate` expects the path of a module exposing `Builder`, like \"coring::runtime\"; \"not a path\" is not a path"
        );
    }
}
