//! `#[derive(AmpEnum)]`: wire spellings of a fieldless enum, written once on the enum.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use crate::attr;
use crate::ctxt::Ctxt;

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let ident = &input.ident;
    let mut variants = Vec::new();
    let mut spellings: Vec<String> = Vec::new();
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "an AmpEnum cannot be generic");
    }
    match &input.data {
        Data::Enum(data) if !data.variants.is_empty() => {
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    cx.error_spanned_by(
                        &variant.fields,
                        "AmpEnum variants carry no data: each is one wire spelling",
                    );
                }
                let rename = attr::parse_rename(&cx, &variant.attrs);
                let spelling = rename
                    .as_ref()
                    .map(|r| r.value())
                    .unwrap_or_else(|| variant.ident.to_string().to_lowercase());
                if spelling.is_empty() || spelling.trim() != spelling {
                    cx.error_spanned_by(
                        rename
                            .as_ref()
                            .map(|r| quote!(#r))
                            .unwrap_or_else(|| quote!(#variant)),
                        "a wire spelling is non-empty, without surrounding whitespace",
                    );
                }
                if spellings.contains(&spelling) {
                    cx.error_spanned_by(
                        &variant.ident,
                        format!("two variants are spelled `{spelling}` on the wire: rename one"),
                    );
                }
                spellings.push(spelling);
                variants.push(&variant.ident);
            }
        }
        _ => cx.error_spanned_by(
            ident,
            "AmpEnum derives only on an enum with at least one unit variant",
        ),
    }
    if let Err(err) = cx.check() {
        let errors = err.to_compile_error();
        let stub = stub(input, &spellings);
        return quote! { #errors #stub };
    }
    quote! {
        #[doc(hidden)]
        #[allow(clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl ::amp_contract::field::AmpValue for #ident {
                const KIND: ::amp_contract::field::Kind = ::amp_contract::field::Kind::Enumeration;
                const ALLOWED: &'static [&'static str] = &[#(#spellings),*];

                fn parse_value(
                    s: &str,
                    _: &::amp_contract::field::FieldMeta,
                ) -> ::core::result::Result<Self, ::amp_contract::Problem> {
                    <Self as ::core::str::FromStr>::from_str(s).map_err(|unknown| {
                        ::amp_contract::Problem::NotAllowed { allowed: unknown.allowed }
                    })
                }

                fn to_wire(&self) -> ::std::borrow::Cow<'_, str> {
                    ::std::borrow::Cow::Borrowed(match self {
                        #(Self::#variants => #spellings,)*
                    })
                }
            }

            #[automatically_derived]
            impl ::core::fmt::Display for #ident {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(&::amp_contract::field::AmpValue::to_wire(self))
                }
            }

            #[automatically_derived]
            impl ::core::str::FromStr for #ident {
                type Err = ::amp_contract::field::UnknownSpelling;

                fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                    match s {
                        #(#spellings => ::core::result::Result::Ok(Self::#variants),)*
                        _ => ::core::result::Result::Err(::amp_contract::field::UnknownSpelling {
                            sent: ::std::string::ToString::to_string(s),
                            allowed: <Self as ::amp_contract::field::AmpValue>::ALLOWED,
                        }),
                    }
                }
            }

            ::amp_contract::__private::impl_amp_field!(#ident);
        };
    }
}

/// On error: an `AmpValue` impl that makes the type usable in an action, so that the user sees
/// the enum's own mistake and not one more error per field that uses it. Not emitted for a
/// generic input, whose impl would only add errors of its own.
fn stub(input: &DeriveInput, spellings: &[String]) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    quote! {
        #[doc(hidden)]
        #[allow(clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl ::amp_contract::field::AmpValue for #ident {
                const KIND: ::amp_contract::field::Kind = ::amp_contract::field::Kind::Enumeration;
                const ALLOWED: &'static [&'static str] = &[#(#spellings),*];
                fn parse_value(
                    _: &str,
                    _: &::amp_contract::field::FieldMeta,
                ) -> ::core::result::Result<Self, ::amp_contract::Problem> {
                    ::core::unreachable!()
                }
                fn to_wire(&self) -> ::std::borrow::Cow<'_, str> {
                    ::core::unreachable!()
                }
            }
            ::amp_contract::__private::impl_amp_field!(#ident);
        };
    }
}
