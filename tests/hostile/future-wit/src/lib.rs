//! A component from the future: it exports `leadwire:plugin/scoring@0.9.0`, a WIT
//! version this host does not speak. The host must refuse to load it with
//! `unsupported-api-version`, naming the interface. Written with wit-bindgen
//! directly (the SDK speaks only the current version); the WIT below is a stand-in for a
//! future contract, not a real one.

wit_bindgen::generate!({
    inline: "
        package leadwire:plugin@0.9.0;

        interface scoring {
            record lead-v2 { id: string, score-hint: option<f64> }
            score: func(lead: lead-v2) -> result<f64, string>;
        }

        world next {
            export scoring;
        }
    ",
    world: "leadwire:plugin/next@0.9.0",
});

pub struct Future;

impl exports::leadwire::plugin::scoring::Guest for Future {
    fn score(lead: exports::leadwire::plugin::scoring::LeadV2) -> Result<f64, String> {
        Ok(lead.score_hint.unwrap_or(0.0))
    }
}

// The export symbols (`leadwire:plugin/scoring@0.9.0#score`) only link on wasm.
#[cfg(target_arch = "wasm32")]
export!(Future);
