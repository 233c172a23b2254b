//! `guest-echo` through contract 0.1.0: the input arrives as typed records
//! (the host's adapter for 0.1.0 plugins), and its Debug form goes back as
//! the one contribution's reason.

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    inline: "
        package test:echo;

        world echo {
            export leadwire:plugin/scoring@0.1.0;
        }
    ",
    world: "test:echo/echo",
    generate_all,
});

use exports::leadwire::plugin::scoring::Guest;
use leadwire::plugin::types::{Contribution, Input, ScoreVerdict};

struct Echo;

impl Guest for Echo {
    fn score(input: Input) -> Result<ScoreVerdict, String> {
        Ok(ScoreVerdict {
            value: 0.0,
            grade: None,
            parts: Vec::new(),
            contributions: vec![Contribution {
                rule: "echo".into(),
                points: 0.0,
                reason: format!("{input:?}"),
            }],
        })
    }
}

// The export symbols are wasm-only.
#[cfg(target_arch = "wasm32")]
export!(Echo);
