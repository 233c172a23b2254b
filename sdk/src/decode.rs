//! Reading a role's input: `types.input` in postcard's wire format, as
//! wit/v0.2.0/types.wit documents it, decoded by hand.
//!
//! serde's generic decoding was a sixth of a prebuilt plugin's call (a
//! visitor and a `Result` per item, and `from_utf8` per string). Here each
//! string is checked for ASCII, a word at a time, and only other text goes
//! through the full UTF-8 check.

use crate::types::*;

type Result<T> = std::result::Result<T, String>;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// Decode a whole input; trailing bytes are an error.
pub fn input(bytes: &[u8]) -> Result<Input> {
    let mut r = Reader { bytes, at: 0 };
    let input = Input {
        lead: r.lead()?,
        event: r.event()?,
        prior: r.list(Reader::prior_step)?,
    };
    if r.at != bytes.len() {
        return Err(format!("{} bytes left over at the end", bytes.len() - r.at));
    }
    Ok(input)
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, what: &str) -> Result<T> {
        Err(format!("{what} at byte {}", self.at))
    }

    fn byte(&mut self) -> Result<u8> {
        match self.bytes.get(self.at) {
            Some(b) => {
                self.at += 1;
                Ok(*b)
            }
            None => self.fail("unexpected end"),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
        {
            Some(end) => {
                let taken = &self.bytes[self.at..end];
                self.at = end;
                Ok(taken)
            }
            None => self.fail("unexpected end"),
        }
    }

    /// An unsigned LEB128 varint of at most 64 bits.
    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.fail("varint too long")
    }

    /// A length: no more items than bytes left, so a bad length cannot make
    /// a huge allocation.
    fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.bytes.len() - self.at => Ok(n),
            _ => self.fail("length past the end"),
        }
    }

    fn case(&mut self, cases: u64) -> Result<u64> {
        match self.varint()? {
            c if c < cases => Ok(c),
            _ => self.fail("unknown variant case"),
        }
    }

    fn s64(&mut self) -> Result<i64> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn f64(&mut self) -> Result<f64> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn bool(&mut self) -> Result<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.fail("bad bool"),
        }
    }

    fn string(&mut self) -> Result<String> {
        let n = self.len()?;
        let b = self.take(n)?;
        if b.is_ascii() {
            // SAFETY: ASCII is UTF-8.
            return Ok(unsafe { std::str::from_utf8_unchecked(b) }.to_owned());
        }
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => self.fail("text is not UTF-8"),
        }
    }

    fn option<T>(&mut self, item: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        match self.byte()? {
            0 => Ok(None),
            1 => item(self).map(Some),
            _ => self.fail("bad option"),
        }
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let n = self.len()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn value(&mut self) -> Result<Value> {
        Ok(match self.case(6)? {
            0 => Value::Null,
            1 => Value::Text(self.string()?),
            2 => Value::Number(self.f64()?),
            3 => Value::Boolean(self.bool()?),
            4 => Value::Time(self.s64()?),
            _ => Value::List(self.list(Self::string)?),
        })
    }

    fn field(&mut self) -> Result<Field> {
        Ok(Field {
            name: self.string()?,
            value: self.value()?,
        })
    }

    fn activity(&mut self) -> Result<Activity> {
        Ok(Activity {
            kind: self.string()?,
            at: self.s64()?,
            properties: self.list(Self::field)?,
        })
    }

    fn lead(&mut self) -> Result<Lead> {
        Ok(Lead {
            id: self.string()?,
            source: self.string()?,
            email: self.option(Self::string)?,
            company_domain: self.option(Self::string)?,
            owner: self.option(Self::string)?,
            lifecycle_stage: self.option(Self::string)?,
            fields: self.list(Self::field)?,
            activities: self.list(Self::activity)?,
            created_at: self.option(Self::s64)?,
        })
    }

    fn event(&mut self) -> Result<Event> {
        Ok(Event {
            id: self.string()?,
            trigger: match self.case(4)? {
                0 => Trigger::Created,
                1 => Trigger::Updated,
                2 => Trigger::SlaBreached(self.string()?),
                _ => Trigger::Rejected(self.string()?),
            },
            changed: self.list(Self::string)?,
            at: self.s64()?,
        })
    }

    fn prior_step(&mut self) -> Result<PriorStep> {
        Ok(PriorStep {
            step: self.string()?,
            plugin: self.string()?,
            verdict: match self.case(4)? {
                0 => Verdict::Score(self.score()?),
                1 => Verdict::Segmentation(self.segmentation()?),
                2 => Verdict::Routing(self.routing()?),
                _ => Verdict::Nurture(self.nurture()?),
            },
        })
    }

    fn score(&mut self) -> Result<ScoreVerdict> {
        Ok(ScoreVerdict {
            value: self.f64()?,
            grade: self.option(Self::string)?,
            parts: self.list(|r| {
                Ok(ScorePart {
                    name: r.string()?,
                    value: r.f64()?,
                })
            })?,
            contributions: self.list(|r| {
                Ok(Contribution {
                    rule: r.string()?,
                    points: r.f64()?,
                    reason: r.string()?,
                })
            })?,
        })
    }

    fn segmentation(&mut self) -> Result<SegmentVerdict> {
        Ok(SegmentVerdict {
            segments: self.list(|r| {
                Ok(Segment {
                    name: r.string()?,
                    reason: r.string()?,
                })
            })?,
            lifecycle_stage: self.option(Self::string)?,
            stage_reason: self.option(Self::string)?,
        })
    }

    fn routing(&mut self) -> Result<RouteVerdict> {
        Ok(RouteVerdict {
            route: match self.case(4)? {
                0 => Route::Assign(Assignment {
                    owner: self.string()?,
                    team: self.option(Self::string)?,
                    rule: self.string()?,
                    reason: self.string()?,
                }),
                1 => Route::Queue(Queued {
                    queue: self.string()?,
                    reason: self.string()?,
                }),
                2 => Route::KeepCurrent(self.string()?),
                _ => Route::Unrouted(self.string()?),
            },
            candidates: self.list(|r| {
                Ok(Candidate {
                    rep: r.string()?,
                    chosen: r.bool()?,
                    reason: r.string()?,
                })
            })?,
        })
    }

    fn nurture(&mut self) -> Result<NurtureVerdict> {
        Ok(match self.case(5)? {
            0 => NurtureVerdict::Stay(self.string()?),
            1 => NurtureVerdict::ExitToSales(self.string()?),
            2 => NurtureVerdict::Recycle(self.string()?),
            3 => NurtureVerdict::Disqualify(self.string()?),
            _ => NurtureVerdict::Enroll(Enrollment {
                track: self.string()?,
                reason: self.string()?,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// An input with every case of every variant, non-ASCII text included
    /// unless `ascii`.
    fn sample(ascii: bool) -> Input {
        let name = if ascii { "Ada" } else { "Zoë Ünal ✓" };
        let field = |n: &str, v: Value| Field {
            name: n.into(),
            value: v,
        };
        let route = |route: Route| RouteVerdict {
            route,
            candidates: vec![Candidate {
                rep: "rep-1".into(),
                chosen: true,
                reason: "in territory".into(),
            }],
        };
        let nurture = [
            NurtureVerdict::Stay("s".into()),
            NurtureVerdict::ExitToSales("e".into()),
            NurtureVerdict::Recycle("r".into()),
            NurtureVerdict::Disqualify("d".into()),
            NurtureVerdict::Enroll(Enrollment {
                track: "t".into(),
                reason: "why".into(),
            }),
        ];
        let mut verdicts = vec![
            Verdict::Score(ScoreVerdict {
                value: -12.5,
                grade: Some("A1".into()),
                parts: vec![ScorePart {
                    name: "fit".into(),
                    value: f64::MAX,
                }],
                contributions: vec![Contribution {
                    rule: "r".into(),
                    points: 0.1,
                    reason: name.into(),
                }],
            }),
            Verdict::Segmentation(SegmentVerdict {
                segments: vec![Segment {
                    name: "hot".into(),
                    reason: "x".into(),
                }],
                lifecycle_stage: None,
                stage_reason: Some("y".into()),
            }),
            Verdict::Routing(route(Route::Assign(Assignment {
                owner: "o".into(),
                team: None,
                rule: "r".into(),
                reason: "w".into(),
            }))),
            Verdict::Routing(route(Route::Queue(Queued {
                queue: "q".into(),
                reason: "w".into(),
            }))),
            Verdict::Routing(route(Route::KeepCurrent("k".into()))),
            Verdict::Routing(route(Route::Unrouted("u".into()))),
        ];
        verdicts.extend(nurture.into_iter().map(Verdict::Nurture));
        Input {
            lead: Lead {
                id: "hs-1".into(),
                source: "hubspot".into(),
                email: Some("a@b.co".into()),
                company_domain: None,
                owner: Some(name.into()),
                lifecycle_stage: Some("lead".into()),
                fields: vec![
                    field("n", Value::Null),
                    field(name, text(name)),
                    field("num", Value::Number(-0.0)),
                    field("b", Value::Boolean(true)),
                    field("t", Value::Time(i64::MIN)),
                    field("t2", Value::Time(i64::MAX)),
                    field("l", Value::List(vec!["a".into(), name.into()])),
                    field("", Value::List(vec![])),
                ],
                activities: vec![Activity {
                    kind: "page_view".into(),
                    at: -1,
                    properties: vec![field("url", text("/pricing"))],
                }],
                created_at: Some(1_700_000_000_000),
            },
            event: Event {
                id: "evt".into(),
                trigger: Trigger::Rejected(name.into()),
                changed: vec!["jobtitle".into()],
                at: 42,
            },
            prior: verdicts
                .into_iter()
                .enumerate()
                .map(|(i, verdict)| PriorStep {
                    step: format!("step-{i}"),
                    plugin: "p".into(),
                    verdict,
                })
                .collect(),
        }
    }

    #[test]
    fn decodes_what_postcard_encodes() {
        for ascii in [true, false] {
            let input = sample(ascii);
            let bytes = postcard::to_allocvec(&input).unwrap();
            let decoded = super::input(&bytes).unwrap();
            assert_eq!(format!("{decoded:?}"), format!("{input:?}"));
            let reference: Input = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(format!("{decoded:?}"), format!("{reference:?}"));
        }
        for trigger in [
            Trigger::Created,
            Trigger::Updated,
            Trigger::SlaBreached("s".into()),
        ] {
            let mut input = sample(true);
            input.event.trigger = trigger;
            let bytes = postcard::to_allocvec(&input).unwrap();
            let decoded = super::input(&bytes).unwrap();
            assert_eq!(format!("{decoded:?}"), format!("{input:?}"));
        }
    }

    #[test]
    fn bad_bytes_are_errors_never_panics() {
        let bytes = postcard::to_allocvec(&sample(false)).unwrap();
        // Every truncation, and every byte changed to each of a few values:
        // an error or some input, never a panic or a huge allocation.
        for end in 0..bytes.len() {
            assert!(super::input(&bytes[..end]).is_err(), "truncated at {end}");
        }
        for at in 0..bytes.len() {
            for b in [0x00, 0x01, 0x7f, 0x80, 0xc3, 0xff] {
                let mut bad = bytes.clone();
                bad[at] = b;
                let _ = super::input(&bad);
            }
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(super::input(&extra).unwrap_err().contains("left over"));
        // Not UTF-8 where text is expected.
        let mut input = sample(true);
        input.lead.id = "\u{e9}".into();
        let mut bytes = postcard::to_allocvec(&input).unwrap();
        bytes[1] = 0xff;
        assert!(super::input(&bytes).unwrap_err().contains("UTF-8"));
    }
}
