//! The fit x engagement grid: a letter from the fit score, a digit from the
//! engagement score, e.g. `B2`.

/// One axis of the grid: descending thresholds and one more label than thresholds.
/// A score at or above `thresholds[i]` (and below the ones before it) gets
/// `labels[i]`; a score below them all gets the last label.
#[derive(Debug, PartialEq)]
pub struct Axis {
    thresholds: Vec<f64>,
    labels: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub struct Grid {
    fit: Axis,
    engagement: Axis,
}

impl Grid {
    /// `Err((key, message))` names the `grade.*` key at fault.
    pub fn new(
        fit: Vec<f64>,
        engagement: Vec<f64>,
        fit_letters: Option<Vec<String>>,
        engagement_digits: Option<Vec<String>>,
    ) -> Result<Grid, (&'static str, String)> {
        Ok(Grid {
            fit: Axis::new(fit, fit_letters, 'A', ("fit", "fit_letters"))?,
            engagement: Axis::new(
                engagement,
                engagement_digits,
                '1',
                ("engagement", "engagement_digits"),
            )?,
        })
    }

    /// `B2` for a fit in the B band and an engagement in the 2 band.
    pub fn grade(&self, fit: f64, engagement: f64) -> String {
        format!(
            "{}{}",
            self.fit.label(fit),
            self.engagement.label(engagement)
        )
    }
}

impl Axis {
    fn new(
        thresholds: Vec<f64>,
        labels: Option<Vec<String>>,
        first: char,
        (key, labels_key): (&'static str, &'static str),
    ) -> Result<Axis, (&'static str, String)> {
        if thresholds.is_empty() {
            return Err((
                key,
                "give at least one threshold, highest first, e.g. [40, 25, 10]".into(),
            ));
        }
        if thresholds.iter().any(|t| !t.is_finite()) {
            return Err((key, "thresholds must be finite numbers".into()));
        }
        if thresholds.windows(2).any(|w| w[0] <= w[1]) {
            return Err((
                key,
                "thresholds must go from highest to lowest, e.g. [40, 25, 10]".into(),
            ));
        }
        let labels = match labels {
            Some(labels) => {
                if labels.len() != thresholds.len() + 1 {
                    return Err((
                        labels_key,
                        format!(
                            "{} label(s) for {} threshold(s): give one more label than thresholds (the last is for scores below them all)",
                            labels.len(),
                            thresholds.len()
                        ),
                    ));
                }
                if labels.iter().any(|l| l.trim().is_empty()) {
                    return Err((labels_key, "labels must not be empty".into()));
                }
                labels
            }
            None => (0..=thresholds.len())
                .map(|i| {
                    char::from_u32(first as u32 + i as u32)
                        .unwrap_or('?')
                        .to_string()
                })
                .collect(),
        };
        Ok(Axis { thresholds, labels })
    }

    fn label(&self, score: f64) -> &str {
        let band = self
            .thresholds
            .iter()
            .position(|t| score >= *t)
            .unwrap_or(self.thresholds.len());
        &self.labels[band]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(vec![40.0, 25.0, 10.0], vec![40.0, 25.0, 10.0], None, None).unwrap()
    }

    #[test]
    fn thresholds_are_inclusive_lower_bounds() {
        let g = grid();
        assert_eq!(g.grade(40.0, 40.0), "A1");
        assert_eq!(g.grade(39.9, 25.0), "B2");
        assert_eq!(g.grade(10.0, 24.0), "C3");
        assert_eq!(g.grade(9.0, -5.0), "D4");
    }

    #[test]
    fn custom_labels_are_used() {
        let g = Grid::new(
            vec![50.0],
            vec![30.0, 10.0],
            Some(vec!["Fit".into(), "NoFit".into()]),
            Some(vec!["-hot".into(), "-warm".into(), "-cold".into()]),
        )
        .unwrap();
        assert_eq!(g.grade(60.0, 12.0), "Fit-warm");
        assert_eq!(g.grade(0.0, 0.0), "NoFit-cold");
    }

    #[test]
    fn bad_axes_name_the_key() {
        let err = Grid::new(vec![10.0, 25.0], vec![1.0], None, None).unwrap_err();
        assert_eq!(err.0, "fit");
        let err = Grid::new(vec![10.0], vec![], None, None).unwrap_err();
        assert_eq!(err.0, "engagement");
        let err = Grid::new(vec![10.0], vec![5.0], None, Some(vec!["1".into()])).unwrap_err();
        assert_eq!(err.0, "engagement_digits");
        assert!(
            err.1.contains("one more label than thresholds"),
            "{}",
            err.1
        );
    }
}
