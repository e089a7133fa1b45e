//! The spend model of a fit: Gamma-Gamma on the repeat customers.

use super::*;

/// What the Gamma-Gamma spend model gives: its parameters, its report, or
/// why there is no CLV in money.
pub(super) type GgOutcome = (
    Option<gamma_gamma::Params>,
    Option<GgReport>,
    Option<String>,
);

/// Gamma-Gamma on repeat customers with a positive mean spend.
pub(super) fn fit_gamma_gamma(
    summaries: &[summary::Summary],
    opts: &ClvOptions,
    ctl: Ctl,
) -> GgOutcome {
    let mut gg_params = None;
    let mut gg_report = None;
    let mut gg_note = None;
    {
        let data = gamma_gamma::Data::new(
            summaries
                .iter()
                .filter(|s| s.x > 0.0 && s.monetary > 0.0)
                .map(|s| (s.x, s.monetary)),
            opts.penalizer,
        );
        if data.len() < 10 {
            gg_note = Some(format!(
                "the Gamma-Gamma spend model needs at least 10 customers with a repeat purchase and positive spend (found {}); no CLV in money",
                data.len()
            ));
        } else {
            ctl.report("fitting Gamma-Gamma", 0, 1);
            match optim::minimise(&data, &[1.0, 1.0, 1.0], 500) {
                Ok(opt) => {
                    let p = gamma_gamma::Params {
                        p: opt.params[0],
                        q: opt.params[1],
                        gamma: opt.params[2],
                    };
                    let se = optim::std_errors(&data, &opt.params).map(|s| [s[0], s[1], s[2]]);
                    if p.q <= 1.0 {
                        gg_note = Some(format!(
                            "Gamma-Gamma q = {:.4} <= 1: the expected spend per transaction is infinite (the spend \
                             distribution's tail is too heavy), so no CLV in money is given. Try --penalizer, or \
                             check the order amounts for outliers.",
                            p.q
                        ));
                    }
                    gg_report = Some(GgReport {
                        p: p.p,
                        q: p.q,
                        gamma: p.gamma,
                        log_likelihood: data.log_likelihood(&p),
                        std_err: se,
                        iterations: opt.iterations,
                        customers: data.len(),
                        population_mean: p.population_mean(),
                    });
                    gg_params = Some(p);
                }
                Err(e) => gg_note = Some(format!("the Gamma-Gamma fit failed: {e}")),
            }
        }
    }
    (gg_params, gg_report, gg_note)
}
