//! A component that mixes contract versions: it imports `log` of
//! `leadwire:plugin@0.1.0` and exports `scoring` of `0.2.0`. The host serves
//! one version's capabilities per plugin, so it must refuse to load it with
//! `mixed-api-versions`, naming both interfaces. The WIT below is a stand-in
//! with the real names, not the real contract.

wit_bindgen::generate!({
    inline: "
        package test:mixed;

        package leadwire:plugin@0.1.0 {
            interface log {
                log: func(message: string);
            }
        }

        package leadwire:plugin@0.2.0 {
            interface scoring {
                score: func(input: list<u8>) -> result<f64, string>;
            }
        }

        world mixed {
            import leadwire:plugin/log@0.1.0;
            export leadwire:plugin/scoring@0.2.0;
        }
    ",
    world: "test:mixed/mixed",
    generate_all,
});

pub struct Mixed;

impl exports::leadwire::plugin0_2_0::scoring::Guest for Mixed {
    fn score(input: Vec<u8>) -> Result<f64, String> {
        leadwire::plugin0_1_0::log::log("scoring");
        Ok(input.len() as f64)
    }
}

// The export symbols only link on wasm.
#[cfg(target_arch = "wasm32")]
export!(Mixed);
