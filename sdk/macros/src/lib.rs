//! `export!(MyPlugin: scoring, routing)`: generates the component bindings for a
//! world that exports exactly the listed roles and wires them to the plugin's
//! `leadwire_sdk::{Scoring, Segmentation, Routing, Nurture}` impls.
//!
//! The world is written here, per plugin, because a component must export only
//! the roles it implements: the host learns a plugin's roles from its exports.
//!
//! This crate also holds the WIT that leadwire-sdk speaks (`wit/v0.2.0`, a
//! byte-identical copy of the workspace's `wit/v0.2.0`, which
//! `tests/wit_copy.rs` checks): a published crate can only read files inside
//! its own folder, and both the SDK's bindings and every `export!` read it from
//! here.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Path, Token};

/// The frozen WIT this SDK version speaks: the copy inside this crate (so the
/// published crate has it), compiled into the macro as text. Expansions carry
/// the text, never a path, so a macro built in one checkout works in another
/// that shares its target folder.
const WIT_FILES: [&str; 4] = [
    include_str!("../wit/v0.2.0/types.wit"),
    include_str!("../wit/v0.2.0/host.wit"),
    include_str!("../wit/v0.2.0/roles.wit"),
    include_str!("../wit/v0.2.0/worlds.wit"),
];

/// The package's items, each file's `package` line left out.
fn wit_items() -> String {
    WIT_FILES
        .iter()
        .flat_map(|file| file.lines())
        .filter(|line| !line.starts_with("package "))
        .collect::<Vec<_>>()
        .join("\n")
}
const WIT_VERSION: &str = "0.2.0";

struct Args {
    plugin: Path,
    roles: Vec<Ident>,
    /// `init = path`: a `fn()` the host runs once per install, before any
    /// call, and snapshots (see `expand`).
    init: Option<Path>,
}

/// One item of the list after the colon: a role, or `init = path`.
enum Item {
    Role(Ident),
    Init(Path),
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        if name == "init" && input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            return Ok(Item::Init(input.parse()?));
        }
        Ok(Item::Role(name))
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let plugin: Path = input.parse()?;
        input.parse::<Token![:]>()?;
        let items = Punctuated::<Item, Token![,]>::parse_separated_nonempty(input)?;
        let mut roles = Vec::new();
        let mut init = None;
        for item in items {
            match item {
                Item::Role(role) => roles.push(role),
                Item::Init(path) if init.is_none() => init = Some(path),
                Item::Init(path) => {
                    return Err(syn::Error::new_spanned(path, "`init` given twice"));
                }
            }
        }
        if roles.is_empty() {
            return Err(
                input.error("list at least one role: scoring, segmentation, routing or nurture")
            );
        }
        Ok(Args {
            plugin,
            roles,
            init,
        })
    }
}

/// The bindings of the whole contract (world `leadwire:plugin/capabilities`),
/// for leadwire-sdk's own use: it expands to `wit_bindgen::generate!` with the
/// path of this crate's WIT, which the SDK, a crate of its own, cannot name.
#[doc(hidden)]
#[proc_macro]
pub fn __sdk_bindings(input: TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new(proc_macro2::Span::call_site(), "takes no arguments")
            .to_compile_error()
            .into();
    }
    let wit = format!("package leadwire:plugin@{WIT_VERSION};\n{}", wit_items());
    quote! {
        ::wit_bindgen::generate!({
            inline: #wit,
            world: "leadwire:plugin/capabilities",
            generate_all,
            // A role's input arrives encoded (wit/v0.2.0/types.wit) and is
            // decoded straight into these types, which no function of the
            // contract names any more: generate them all the same. The serde
            // derives let the SDK test its decoder against postcard.
            additional_derives: [::serde::Deserialize, ::serde::Serialize],
            generate_unused_types: true,
        });
    }
    .into()
}

/// Export a plugin type for the roles it implements: `export!(MyPlugin: scoring, routing);`,
/// and optionally its once-per-install start-up: `export!(MyPlugin: scoring, init = preload);`
#[proc_macro]
pub fn export(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    match expand(args) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(args: Args) -> syn::Result<proc_macro2::TokenStream> {
    let plugin = &args.plugin;
    // The plugin type is named from inside the generated module.
    let plugin_path = if plugin.leading_colon.is_some()
        || plugin.segments.first().is_some_and(|s| s.ident == "crate")
    {
        quote!(#plugin)
    } else {
        quote!(super::#plugin)
    };

    let mut exports = String::new();
    let mut impls = Vec::new();
    let mut seen = Vec::new();
    for role in &args.roles {
        let name = role.to_string();
        if seen.contains(&name) {
            return Err(syn::Error::new(
                role.span(),
                format!("role `{name}` listed twice"),
            ));
        }
        seen.push(name.clone());
        let (module, func, verdict, trait_name) = match name.as_str() {
            "scoring" => ("scoring", "score", "ScoreVerdict", "Scoring"),
            "segmentation" => ("segmentation", "segment", "SegmentVerdict", "Segmentation"),
            "routing" => ("routing", "route", "RouteVerdict", "Routing"),
            "nurture" => ("nurture", "evaluate", "NurtureVerdict", "Nurture"),
            other => {
                return Err(syn::Error::new(
                    role.span(),
                    format!(
                        "unknown role `{other}`: expected scoring, segmentation, routing or nurture"
                    ),
                ));
            }
        };
        exports.push_str(&format!("export leadwire:plugin/{module}@{WIT_VERSION};\n"));
        let module = Ident::new(module, role.span());
        let func = Ident::new(func, role.span());
        let verdict = Ident::new(verdict, role.span());
        let trait_name = Ident::new(trait_name, role.span());
        impls.push(quote! {
            impl exports::leadwire::plugin::#module::Guest for __Export {
                fn #func(input: ::std::vec::Vec<u8>) -> ::core::result::Result<::leadwire_sdk::#verdict, ::std::string::String> {
                    ::leadwire_sdk::__private::call(&input, <#plugin_path as ::leadwire_sdk::#trait_name>::#func)
                }
            }
        });
    }
    // `init = f`: export Wizer's `wizer-initialize`, which the host calls once
    // per install and then snapshots the instance's memory, so every fresh
    // instance starts with what `f` computed (the parsed config). Hosts that
    // do not pre-initialise ignore the export; `f` must leave the plugin
    // correct whether or not it ran.
    if let Some(init) = &args.init {
        let init = if init.leading_colon.is_some()
            || init.segments.first().is_some_and(|s| s.ident == "crate")
        {
            quote!(#init)
        } else {
            quote!(super::#init)
        };
        exports.push_str("export wizer-initialize: func();\n");
        impls.push(quote! {
            impl Guest for __Export {
                fn wizer_initialize() {
                    #init()
                }
            }
        });
    }
    let world = format!(
        "package leadwire:guest;\n\npackage leadwire:plugin@{WIT_VERSION} {{\n{}\n}}\n\nworld plugin {{\n{exports}}}\n",
        wit_items()
    );

    Ok(quote! {
        #[doc(hidden)]
        #[allow(dead_code, clippy::all)]
        mod __leadwire_export {
            ::leadwire_sdk::__private::wit_bindgen::generate!({
                inline: #world,
                world: "leadwire:guest/plugin",
                runtime_path: "::leadwire_sdk::__private::wit_bindgen::rt",
                with: {
                    "leadwire:plugin/types@0.2.0": ::leadwire_sdk::types,
                },
            });
            pub struct __Export;
            #(#impls)*
            // Native builds (unit tests) export nothing: the symbols are wasm-only.
            #[cfg(target_arch = "wasm32")]
            export!(__Export with_types_in self);
        }
    })
}
