//! `accounts`: the owner of a known account by web domain.

use std::collections::BTreeMap;

use super::Capabilities;
use crate::bindings::leadwire::plugin::accounts::{Account, Host};
use crate::config::AccountConfig;

#[derive(Default)]
pub struct Accounts {
    by_domain: BTreeMap<String, Account>,
}

/// `WWW.Acme.com` and `acme.com` are the same account.
fn normalise(domain: &str) -> String {
    let domain = domain.trim().to_ascii_lowercase();
    domain.strip_prefix("www.").unwrap_or(&domain).to_string()
}

impl Accounts {
    pub fn from_config(config: &BTreeMap<String, AccountConfig>) -> Accounts {
        let by_domain = config
            .iter()
            .map(|(domain, a)| {
                let domain = normalise(domain);
                let account = Account {
                    domain: domain.clone(),
                    name: a.name.clone(),
                    owner: a.owner.clone(),
                };
                (domain, account)
            })
            .collect();
        Accounts { by_domain }
    }
}

impl Host for Capabilities {
    fn by_domain(&mut self, domain: String) -> wasmtime::Result<Option<Account>> {
        self.host_call("accounts.by-domain", |s| {
            Ok(s.ctx
                .env
                .accounts
                .by_domain
                .get(&normalise(&domain))
                .cloned())
        })
    }
}
