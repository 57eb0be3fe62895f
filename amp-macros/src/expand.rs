//! Code generation for `#[derive(AmpAction)]`: thin code calling amp-contract's hidden runtime
//! (`amp_contract::__private`, like serde's): one call per field to parse it, and one place
//! (`__values`) that takes the fields by their types to write them back and to store them
//! (the stored record itself is `record.rs`'s).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use crate::attr::PresenceAttr;
use crate::check;
use crate::ctxt::Ctxt;
use crate::model::{Action, Field, Kind, Limit, Visibility};
use crate::record;
use crate::rules_table::Rule;

/// Expands the derive, or its errors plus a stub impl so the user sees one error per mistake.
pub(crate) fn action(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = Action::from_ast(&cx, input);
    if let Some(model) = &model {
        check::check(&cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => {
            let record = record::definition(&model);
            let body = wrap(emit(&model));
            quote! { #record #body }
        }
        (Err(err), _) => {
            let stub = stub(input);
            let errors = err.to_compile_error();
            quote! { #errors #stub }
        }
        (Ok(()), None) => wrap(stub(input)),
    }
}

fn wrap(body: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = { #body };
    }
}

fn stub(input: &DeriveInput) -> TokenStream {
    // A generic input already has its error; an impl without its parameters would add more.
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    quote! {
        #[automatically_derived]
        impl ::amp_contract::Action for #ident {
            const NAME: &'static str = "";
            const FIELDS: &'static [::amp_contract::field::FieldMeta] = &[];
            type Stored = ::amp_contract::stored::StoredRecord;
            fn from_form_with(
                _: &::amp_contract::form::FormPairs<'_>,
                _: &mut dyn ::amp_contract::Lookup,
            ) -> ::core::result::Result<Self, ::amp_contract::Violations> {
                ::core::unreachable!()
            }
            fn resolve(&self, _: &mut dyn ::amp_contract::Lookup) -> Self::Stored {
                ::core::unreachable!()
            }
            fn to_form(&self) -> ::amp_contract::form::FormPairs<'static> {
                ::core::unreachable!()
            }
        }
    }
}

fn opt_usize(limit: &Option<Limit>) -> TokenStream {
    match limit {
        Some(l) => {
            let n = Literal::u64_unsuffixed(l.value);
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn value_ty(field: &Field) -> TokenStream {
    let ty = &field.ty;
    quote_spanned!(ty.span()=> <#ty as ::amp_contract::field::AmpField>::Value)
}

fn kind_tokens(kind: Kind) -> TokenStream {
    match kind {
        Kind::Text => quote!(::amp_contract::field::Kind::Text),
        Kind::Integer => quote!(::amp_contract::field::Kind::Integer),
        Kind::Boolean => quote!(::amp_contract::field::Kind::Boolean),
        Kind::Ip => quote!(::amp_contract::field::Kind::Ip),
        Kind::Enumeration => quote!(::amp_contract::field::Kind::Enumeration),
    }
}

/// A rule id: the catalogue's typed constant when it is one, so that generated metadata cites
/// `amp_contract::rules::Rule`; another API's id as written.
fn rule_tokens(lit: &syn::LitStr) -> TokenStream {
    match Rule::from_id(&lit.value()) {
        Some(rule) => {
            let variant = syn::Ident::new(rule.variant_name(), lit.span());
            quote!(::amp_contract::rules::Rule::#variant.id())
        }
        None => quote!(#lit),
    }
}

fn meta(field: &Field) -> TokenStream {
    let index = Literal::usize_unsuffixed(field.index);
    let name = &field.name;
    let doc = &field.doc;
    let kind = kind_tokens(field.kind);
    let value_ty = value_ty(field);
    let presence = match &field.presence {
        PresenceAttr::Required => quote!(::amp_contract::field::Presence::Required),
        PresenceAttr::Optional => quote!(::amp_contract::field::Presence::Optional),
        PresenceAttr::Default(lit) => quote!(::amp_contract::field::Presence::Default(#lit)),
        PresenceAttr::ResolvedDefault(lit) => {
            quote!(::amp_contract::field::Presence::ResolvedDefault(#lit))
        }
    };
    let (max_chars, max_bytes) = (opt_usize(&field.max_chars), opt_usize(&field.max_bytes));
    let (min, max) = (opt_usize(&field.min), opt_usize(&field.max));
    let (trim, lookup) = (field.trim, field.lookup);
    let visibility = match field.visibility {
        Visibility::Customer => quote!(::amp_contract::field::Visibility::Customer),
        Visibility::Admin => quote!(::amp_contract::field::Visibility::Admin),
    };
    let rules: Vec<TokenStream> = field.rules.iter().map(rule_tokens).collect();
    let rule = rules.first().cloned().unwrap_or_else(|| quote!(""));
    let contract_rule = match field
        .rules
        .first()
        .and_then(|lit| Rule::from_id(&lit.value()))
    {
        Some(rule) => {
            let variant = syn::Ident::new(rule.variant_name(), proc_macro2::Span::call_site());
            quote!(::core::option::Option::Some(::amp_contract::rules::Rule::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::amp_contract::field::FieldMeta {
            index: #index,
            name: #name,
            doc: #doc,
            kind: #kind,
            presence: #presence,
            allowed: <#value_ty as ::amp_contract::field::AmpValue>::ALLOWED,
            limits: ::amp_contract::field::Limits {
                max_chars: #max_chars,
                max_bytes: #max_bytes,
                min: #min,
                max: #max,
            },
            type_max: <#value_ty as ::amp_contract::field::AmpValue>::TYPE_MAX,
            trim: #trim,
            lookup: #lookup,
            visibility: #visibility,
            rule: #rule,
            contract_rule: #contract_rule,
            rules: &[#(#rules),*],
        }
    }
}

/// Compile-time checks that need the field's type: its kind, whether it can be absent, and an
/// enumeration's default (whose spellings only the enum knows).
fn type_checks(field: &Field) -> TokenStream {
    let ty = &field.ty;
    let ident = &field.ident;
    let kind = kind_tokens(field.kind);
    let value_ty = value_ty(field);
    let ty_text = quote!(#ty).to_string().replace(' ', "");
    let kind_message = format!(
        "field `{ident}` is declared `{}`, but `{ty_text}` is a value of another kind \
         (text: String; integer: u16, u32, u64; boolean: bool; ip: IpAddr; enumeration: an \
         enum deriving AmpEnum; each optionally in an Option): change the kind or the type",
        field.kind.key()
    );
    let kind_span = field.kind_span;
    let mut checks = quote_spanned! {kind_span=>
        const _: () = ::core::assert!(
            <#value_ty as ::amp_contract::field::AmpValue>::KIND.same(#kind),
            #kind_message
        );
    };
    let (must_be_optional, message) = match &field.presence {
        PresenceAttr::Required | PresenceAttr::Default(_) => (
            false,
            format!(
                "field `{ident}` always has a value (required or defaulted): its type cannot be an Option"
            ),
        ),
        PresenceAttr::Optional | PresenceAttr::ResolvedDefault(_) => (
            true,
            format!("field `{ident}` may be absent with no default: make its type an Option"),
        ),
    };
    let optional = quote_spanned!(ty.span()=> <#ty as ::amp_contract::field::AmpField>::OPTIONAL);
    let condition = if must_be_optional {
        quote!(#optional)
    } else {
        quote!(!#optional)
    };
    checks.extend(quote_spanned! {ty.span()=>
        const _: () = ::core::assert!(#condition, #message);
    });
    match (field.kind, &field.presence) {
        (Kind::Enumeration, PresenceAttr::Default(lit)) => {
            let message = format!(
                "default {:?} of `{ident}` is not one of its enum's spellings: write one of them",
                lit.value()
            );
            checks.extend(quote_spanned! {lit.span()=>
                const _: () = ::core::assert!(
                    ::amp_contract::__private::allowed_contains(
                        <#value_ty as ::amp_contract::field::AmpValue>::ALLOWED,
                        #lit,
                    ),
                    #message
                );
            });
        }
        (Kind::Integer, PresenceAttr::Default(lit)) => {
            // `min`/`max` were checked by the derive; the type's range is known only here.
            let message = format!(
                "default {:?} of `{ident}` does not fit its type `{ty_text}`: write a smaller \
                 default or use a wider integer type",
                lit.value()
            );
            checks.extend(quote_spanned! {lit.span()=>
                const _: () = ::core::assert!(
                    ::amp_contract::__private::integer_fits(
                        #lit,
                        match <#value_ty as ::amp_contract::field::AmpValue>::TYPE_MAX {
                            ::core::option::Option::Some(max) => max,
                            ::core::option::Option::None => u64::MAX,
                        },
                    ),
                    #message
                );
            });
        }
        _ => {}
    }
    checks
}

fn emit(model: &Action<'_>) -> TokenStream {
    let ident = &model.input.ident;
    let action = model
        .action
        .as_ref()
        .map(|a| quote!(#a))
        .unwrap_or_else(|| quote!(""));
    let metas = model.fields.iter().map(meta);
    let checks = model.fields.iter().map(type_checks);
    let vars: Vec<_> = model
        .fields
        .iter()
        .map(|f| format_ident!("__{}", f.ident))
        .collect();
    let idents: Vec<_> = model.fields.iter().map(|f| &f.ident).collect();
    let tys: Vec<_> = model.fields.iter().map(|f| &f.ty).collect();
    let indexes: Vec<_> = model
        .fields
        .iter()
        .map(|f| Literal::usize_unsuffixed(f.index))
        .collect();
    let (stored_ty, resolve) = record::resolve(model);
    let count = Literal::usize_unsuffixed(model.fields.len());
    let record_impls = record::impls(model);
    quote! {
        #(#checks)*

        #[automatically_derived]
        impl ::amp_contract::Action for #ident {
            const NAME: &'static str = #action;
            const FIELDS: &'static [::amp_contract::field::FieldMeta] = &[#(#metas),*];

            type Stored = #stored_ty;

            fn from_form_with(
                __form: &::amp_contract::form::FormPairs<'_>,
                __lookup: &mut dyn ::amp_contract::Lookup,
            ) -> ::core::result::Result<Self, ::amp_contract::Violations> {
                let mut __violations = ::amp_contract::Violations::new();
                #(
                    let #vars = ::amp_contract::__private::read_field::<#tys>(
                        __form,
                        &<Self as ::amp_contract::Action>::FIELDS[#indexes],
                        __lookup,
                        &mut __violations,
                    );
                )*
                match (#(#vars,)*) {
                    (#(::core::option::Option::Some(#vars),)*) => {
                        ::core::result::Result::Ok(Self { #(#idents: #vars),* })
                    }
                    _ => {
                        __violations.sort();
                        ::core::result::Result::Err(__violations)
                    }
                }
            }

            fn resolve(
                &self,
                __lookup: &mut dyn ::amp_contract::Lookup,
            ) -> <Self as ::amp_contract::Action>::Stored {
                let __values = __values(self);
                #resolve
            }

            fn to_form(&self) -> ::amp_contract::form::FormPairs<'static> {
                let mut __form = ::amp_contract::form::FormPairs::new();
                __form.push(
                    ::amp_contract::action::ACTION_PARAM.as_bytes(),
                    <Self as ::amp_contract::Action>::NAME.as_bytes(),
                );
                ::amp_contract::__private::write_values(
                    &mut __form,
                    <Self as ::amp_contract::Action>::FIELDS,
                    &__values(self),
                );
                __form
            }
        }

        /// Each field's value, type-erased, in table order: the one place that takes the
        /// fields by their types after parsing.
        fn __values(
            __this: &#ident,
        ) -> [::core::option::Option<&dyn ::amp_contract::__private::ErasedValue>; #count] {
            [#(::amp_contract::__private::value_of(&__this.#idents)),*]
        }

        #record_impls
    }
}
