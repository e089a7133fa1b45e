//! Clusters named from what sets them apart ("frequent high spenders").

use super::Profile;

/// Words for a feature far from the average: (above, below).
fn words(j: usize) -> (&'static str, &'static str) {
    match j {
        0 => ("lapsing", "recent"),
        1 => ("frequent", "rare"),
        2 => ("high spenders", "low spenders"),
        3 => ("long-standing", "new"),
        4 => ("engaged", "quiet"),
        5 => ("complaining", "uncomplaining"),
        _ => ("happy", "unhappy"),
    }
}

/// A name from the two features that set a cluster apart most (at least
/// 0.3 standard deviations from everyone's mean); spend, when it is one of
/// them, is the noun ("frequent high spenders"), else "customers".
fn name_for(z: &[f64], skip: usize) -> String {
    let mut far: Vec<(usize, f64)> = z
        .iter()
        .enumerate()
        .filter(|(_, v)| v.abs() >= 0.3)
        .map(|(j, v)| (j, *v))
        .collect();
    far.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let top: Vec<(usize, f64)> = far.into_iter().skip(skip).take(2).collect();
    if top.is_empty() {
        return "average customers".into();
    }
    let word = |(j, v): (usize, f64)| if v > 0.0 { words(j).0 } else { words(j).1 };
    let spend = top.iter().find(|(j, _)| *j == 2).copied();
    let adjectives: Vec<&str> = top
        .iter()
        .filter(|(j, _)| *j != 2)
        .map(|&t| word(t))
        .collect();
    match spend {
        Some(s) => {
            let mut parts = adjectives;
            parts.push(word(s));
            parts.join(" ")
        }
        None => format!("{} customers", adjectives.join(", ")),
    }
}

/// Each cluster's name; a name already taken gives way to the next two
/// features, or the cluster's number.
pub(super) fn name_clusters(clusters: &mut [Profile]) {
    let mut used: Vec<String> = Vec::new();
    for c in clusters.iter_mut() {
        let mut name = name_for(&c.z, 0);
        if used.contains(&name) {
            let alt = name_for(&c.z, 1);
            name = if used.contains(&alt) || alt == "average customers" {
                format!("{name} ({})", c.cluster)
            } else {
                alt
            };
        }
        used.push(name.clone());
        c.name = name;
    }
}
