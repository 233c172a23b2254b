//! The roles a loaded component exports, by contract version, and calling
//! them. A 0.2.0 role receives the input encoded in one `list<u8>`; a 0.1.0
//! role receives it as typed records (the adapter that keeps 0.1.0 plugins
//! loading). Both return the same verdict records.

use std::borrow::Cow;

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::Role;
use super::call::CallState;
use crate::bindings::types::{Input, Verdict};
use crate::bindings::{v0_1_0, v0_2_0};

/// The contract versions this host loads, oldest first; the last is current.
pub const WIT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// One version's role exports, looked up once at load.
pub(super) struct Roles<S, G, R, N> {
    scoring: Option<S>,
    segmentation: Option<G>,
    routing: Option<R>,
    nurture: Option<N>,
}

pub(super) enum Exports {
    V0_1(
        Roles<
            v0_1_0::scoring::GuestIndices,
            v0_1_0::segmentation::GuestIndices,
            v0_1_0::routing::GuestIndices,
            v0_1_0::nurture::GuestIndices,
        >,
    ),
    V0_2(
        Roles<
            v0_2_0::scoring::GuestIndices,
            v0_2_0::segmentation::GuestIndices,
            v0_2_0::routing::GuestIndices,
            v0_2_0::nurture::GuestIndices,
        >,
    ),
}

/// The indices of the roles in `roles`, from `version`'s bindings.
macro_rules! roles {
    ($version:ident, $pre:expr, $roles:expr) => {{
        let has = |role| $roles.contains(&role);
        Roles {
            scoring: has(Role::Scoring)
                .then(|| $version::scoring::GuestIndices::new($pre))
                .transpose()?,
            segmentation: has(Role::Segmentation)
                .then(|| $version::segmentation::GuestIndices::new($pre))
                .transpose()?,
            routing: has(Role::Routing)
                .then(|| $version::routing::GuestIndices::new($pre))
                .transpose()?,
            nurture: has(Role::Nurture)
                .then(|| $version::nurture::GuestIndices::new($pre))
                .transpose()?,
        }
    }};
}

/// Call `role` through `$roles` (one version's indices) with `$input`, which
/// is what that version's functions take.
macro_rules! call_role {
    ($roles:expr, $store:expr, $instance:expr, $role:expr, $input:expr, $missing:expr) => {{
        let roles = $roles;
        match $role {
            Role::Scoring => roles
                .scoring
                .as_ref()
                .ok_or_else($missing)?
                .load(&mut *$store, $instance)?
                .call_score(&mut *$store, $input)?
                .map(Verdict::Score),
            Role::Segmentation => roles
                .segmentation
                .as_ref()
                .ok_or_else($missing)?
                .load(&mut *$store, $instance)?
                .call_segment(&mut *$store, $input)?
                .map(Verdict::Segmentation),
            Role::Routing => roles
                .routing
                .as_ref()
                .ok_or_else($missing)?
                .load(&mut *$store, $instance)?
                .call_route(&mut *$store, $input)?
                .map(Verdict::Routing),
            Role::Nurture => roles
                .nurture
                .as_ref()
                .ok_or_else($missing)?
                .load(&mut *$store, $instance)?
                .call_evaluate(&mut *$store, $input)?
                .map(Verdict::Nurture),
        }
    }};
}

/// A call's input in the form its version takes, made before the call so
/// its size can set the call's fuel.
pub(super) enum Prepared<'a> {
    Typed { input: &'a Input, size: usize },
    Encoded(Cow<'a, [u8]>),
}

impl Prepared<'_> {
    /// The input's encoded size in bytes, whichever form it travels in.
    pub(super) fn size(&self) -> usize {
        match self {
            Prepared::Typed { size, .. } => *size,
            Prepared::Encoded(bytes) => bytes.len(),
        }
    }
}

impl Exports {
    /// The exports of `roles` in a component of contract `version` (one of
    /// [`WIT_VERSIONS`]).
    pub(super) fn new(
        version: &str,
        pre: &InstancePre<CallState>,
        roles: &[Role],
    ) -> wasmtime::Result<Exports> {
        Ok(match version {
            "0.1.0" => Exports::V0_1(roles!(v0_1_0, pre, roles)),
            _ => Exports::V0_2(roles!(v0_2_0, pre, roles)),
        })
    }

    /// `input` as this version's roles take it; `encoded` is its encoding
    /// when the caller has it already (a pipeline keeps one for its steps).
    pub(super) fn prepare<'a>(&self, input: &'a Input, encoded: Option<&'a [u8]>) -> Prepared<'a> {
        match self {
            Exports::V0_1(_) => Prepared::Typed {
                input,
                size: encoded.map_or_else(|| v0_2_0::encoded_size(input), <[u8]>::len),
            },
            Exports::V0_2(_) => Prepared::Encoded(match encoded {
                Some(bytes) => Cow::Borrowed(bytes),
                None => Cow::Owned(v0_2_0::encode_input(input)),
            }),
        }
    }

    /// Call `role` on `instance` with the input [`Exports::prepare`] made:
    /// the plugin's verdict or its own error.
    pub(super) fn call(
        &self,
        plugin: &str,
        store: &mut Store<CallState>,
        instance: &Instance,
        role: Role,
        input: &Prepared<'_>,
    ) -> wasmtime::Result<Result<Verdict, String>> {
        let missing = || wasmtime::format_err!("plugin `{plugin}` does not export the {role} role");
        Ok(match (self, input) {
            (Exports::V0_1(roles), Prepared::Typed { input, .. }) => {
                call_role!(roles, store, instance, role, *input, missing)
            }
            (Exports::V0_2(roles), Prepared::Encoded(bytes)) => {
                call_role!(roles, store, instance, role, bytes.as_ref(), missing)
            }
            _ => wasmtime::bail!("input prepared for another contract version"),
        })
    }
}
