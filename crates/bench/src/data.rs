//! The synthetic organization: deterministic users whose names make search terms of known
//! selectivity.

/// First names; none contains a search term below.
const FIRST: [&str; 32] = [
    "Ada", "Bruno", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Luca", "Mara", "Nils", "Olga", "Pablo", "Quinn", "Rhea", "Sven", "Tilda", "Uma", "Viktor",
    "Wanda", "Xavi", "Yara", "Zeno", "Amir", "Bea", "Cyril", "Dana", "Emil", "Fay",
];

/// Surname syllables: a surname is three of them, so one syllable is in about one surname in
/// eleven (1 - (31/32)^3).
const SYLLABLES: [&str; 32] = [
    "bar", "ken", "lo", "mir", "nov", "pet", "ros", "sal", "tam", "vin", "wel", "dor", "fen",
    "gal", "hul", "jas", "kor", "lin", "mun", "nek", "pol", "rud", "sev", "tur", "vas", "zim",
    "bek", "cha", "dru", "fim", "gor", "hap",
];

/// The term that about one user in eleven matches.
pub const UNSELECTIVE: &str = "ros";
/// The surname of one user in ten thousand, and the term that finds them.
pub const SELECTIVE: &str = "quillfeather";
const RARE_EVERY: usize = 10_000;

/// A quick, well-mixed hash of the row number.
fn mix(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub first: &'static str,
    pub last: String,
    pub company: String,
}

impl Person {
    pub fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

/// User `i` of the organization whose email domain is `domain`.
pub fn person(domain: &str, i: usize) -> Person {
    let h = mix(i);
    let last = if i % RARE_EVERY == 7 {
        "Quillfeather".to_owned()
    } else {
        let s: String = (0..3)
            .map(|k| SYLLABLES[((h >> (8 * k + 8)) % 32) as usize])
            .collect();
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => s,
        }
    };
    Person {
        email: format!("user{i}@{domain}"),
        first: FIRST[(h % 32) as usize],
        last,
        company: format!("Company {}", h % 50),
    }
}

/// Users among `0..n` whose name contains `term` (case-insensitive).
pub fn count_matching(domain: &str, n: usize, term: &str) -> usize {
    (0..n)
        .filter(|&i| person(domain, i).name().to_lowercase().contains(term))
        .count()
}

/// An eva bulk-create file for users `from..to`: role SUPERVISOR of one environment, and a
/// password when one is given.
pub fn bulk_csv(
    domain: &str,
    from: usize,
    to: usize,
    env: (&str, &str),
    password: Option<&str>,
) -> Vec<u8> {
    let mut out = String::with_capacity((to - from) * 96 + 80);
    out.push_str("email;name;company;role;password;environmentUuid;environmentName;bot\n");
    for i in from..to {
        let p = person(domain, i);
        out.push_str(&format!(
            "{};{};{};SUPERVISOR;{};{};{};\n",
            p.email,
            p.name(),
            p.company,
            password.unwrap_or(""),
            env.0,
            env.1
        ));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_have_the_selectivity_they_claim() {
        let n = 100_000;
        let rare = count_matching("x.example", n, SELECTIVE);
        assert_eq!(rare, n / RARE_EVERY);
        let common = count_matching("x.example", n, UNSELECTIVE);
        assert!(
            (7_000..12_000).contains(&common),
            "{common} of {n} match {UNSELECTIVE}"
        );
    }
}
