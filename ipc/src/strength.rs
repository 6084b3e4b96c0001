//! Passphrase strength: a compact estimate of how many guesses an attacker needs, in the
//! manner of zxcvbn (dropbox/zxcvbn `src/scoring.coffee`, `src/matching.coffee`). The
//! passphrase is covered by the cheapest sequence of patterns — common passwords (plain,
//! capitalised, reversed or with l33t digits), repeats, sequences, keyboard runs, years, and
//! brute force for the rest — and the guesses of that sequence give a score from 0 to 4.
//!
//! Owns the estimate, the minimum ([`MIN_SCORE`]) and the short explanations, so the worker
//! (which refuses a weaker passphrase with
//! [`ErrorCode::WeakPassphrase`](crate::ErrorCode::WeakPassphrase)) and the app (which shows
//! the same verdict while the user types) cannot disagree. Does not own a dictionary of
//! words or names: only the [`COMMON`] passwords, as the first-load bundle has a size budget.
//! Without a dictionary, passphrases made of ordinary words are rated like random letters,
//! so the minimum is set where zxcvbn's own scale starts to protect against offline guessing.

use serde::{Deserialize, Serialize};

/// The lowest acceptable score: zxcvbn's 3, "safely unguessable: moderate protection from
/// offline slow-hash scenario" (dropbox/zxcvbn `README.md`), which is the attack a copied
/// browser profile faces (Argon2id on the vault header).
pub const MIN_SCORE: u8 = 3;

/// Only this many characters are analysed; more can only add guesses, so the estimate of a
/// longer passphrase is a lower bound.
pub const MAX_ANALYSED_CHARS: usize = 64;

/// Guesses per brute-forced character (zxcvbn's `BRUTEFORCE_CARDINALITY`).
const BRUTEFORCE_CARDINALITY: f64 = 10.0;
/// A pattern covering part of the passphrase costs at least this many guesses (zxcvbn's
/// `MIN_SUBMATCH_GUESSES_SINGLE_CHAR` and `_MULTI_CHAR`).
const MIN_SUBMATCH_SINGLE: f64 = 10.0;
const MIN_SUBMATCH_MULTI: f64 = 50.0;
/// log10 of zxcvbn's `MIN_GUESSES_BEFORE_GROWING_SEQUENCE` (10 000): the penalty per extra
/// pattern, as an attacker tries shorter sequences first.
const SEQUENCE_PENALTY_LOG10: f64 = 4.0;
/// Years are counted from here (the estimate needs no clock: a few years off changes little).
const REFERENCE_YEAR: i64 = 2026;
/// At least this many years are tried (zxcvbn's `MIN_YEAR_SPACE`).
const MIN_YEAR_SPACE: i64 = 20;

/// The most common passwords, most common first, from the frequency list zxcvbn ships
/// (dropbox/zxcvbn `data/passwords.txt`, Mark Burnett's 10 million passwords): its head
/// without digit-only entries (repeats and sequences catch those) and without obscenities,
/// plus this app's own names. A match costs its rank in guesses.
pub const COMMON: &[&str] = &[
    "umbra",
    "session",
    "password",
    "qwerty",
    "dragon",
    "baseball",
    "abc123",
    "football",
    "monkey",
    "letmein",
    "shadow",
    "master",
    "michael",
    "mustang",
    "qwertyuiop",
    "superman",
    "1qaz2wsx",
    "qazwsx",
    "jordan",
    "jennifer",
    "123qwe",
    "killer",
    "trustno1",
    "hunter",
    "harley",
    "zxcvbnm",
    "asdfgh",
    "buster",
    "andrew",
    "batman",
    "soccer",
    "tigger",
    "charlie",
    "robert",
    "sunshine",
    "thomas",
    "iloveyou",
    "ranger",
    "daniel",
    "hockey",
    "george",
    "computer",
    "michelle",
    "jessica",
    "starwars",
    "pepper",
    "klaster",
    "zxcvbn",
    "freedom",
    "princess",
    "joshua",
    "maggie",
    "pass",
    "ginger",
    "amanda",
    "ashley",
    "love",
    "cheese",
    "nicole",
    "summer",
    "matthew",
    "chelsea",
    "dallas",
    "biteme",
    "matrix",
    "william",
    "yankees",
    "taylor",
    "corvette",
    "austin",
    "access",
    "martin",
    "heather",
    "thunder",
    "merlin",
    "secret",
    "diamond",
    "hello",
    "anthony",
    "hammer",
    "1234qwer",
    "silver",
    "gfhjkm",
    "justin",
    "patrick",
    "richard",
    "bailey",
    "internet",
    "samantha",
    "golfer",
    "scooter",
    "test",
    "orange",
    "cookie",
    "q1w2e3r4t5",
    "maverick",
    "jackson",
    "sparky",
    "phoenix",
    "mickey",
    "bigdog",
    "snoopy",
    "guitar",
    "whatever",
    "chicken",
    "morgan",
    "andrea",
    "camaro",
    "mercedes",
    "peanut",
    "ferrari",
    "falcon",
    "cowboy",
    "welcome",
    "samsung",
    "steelers",
    "smokey",
    "joseph",
    "dakota",
    "melissa",
    "arsenal",
    "boomer",
    "eagles",
    "tigers",
    "marina",
    "nascar",
    "booboo",
    "gateway",
    "yellow",
    "porsche",
    "monster",
    "spider",
    "diablo",
    "hannah",
    "bulldog",
    "junior",
    "london",
    "purple",
    "compaq",
    "lakers",
    "iceman",
    "qwer1234",
    "cowboys",
    "money",
    "banana",
    "ncc1701",
    "boston",
    "brandon",
    "tennis",
    "johnny",
    "miller",
    "q1w2e3r4",
    "coffee",
    "scooby",
    "edward",
    "nikita",
    "yamaha",
    "mother",
    "barney",
    "brandy",
    "chester",
    "oliver",
    "charles",
    "player",
    "knight",
    "forever",
    "steven",
    "rangers",
    "midnight",
    "chicago",
    "bigdaddy",
    "redsox",
    "victoria",
    "angel",
    "badboy",
    "please",
    "fender",
    "chris",
    "jasper",
    "james",
    "slayer",
    "rabbit",
    "natasha",
    "rachel",
    "marine",
    "wizard",
    "marlboro",
    "raiders",
    "prince",
    "casper",
    "fishing",
    "flower",
    "crystal",
    "jasmine",
    "adidas",
    "winter",
    "winner",
    "gandalf",
    "password1",
    "enter",
    "ghbdtn",
    "1q2w3e4r",
    "angela",
    "mike",
    "golden",
    "lauren",
    "cocacola",
    "winston",
    "madison",
    "angels",
    "panther",
    "asdfasdf",
    "qwerty123",
    "abcd1234",
    "pokemon",
    "123abc",
    "dolphin",
    "helpme",
    "dreams",
    "friends",
    "google",
    "letmein1",
    "monkey1",
    "welcome1",
    "iloveu",
    "trustme",
    "secret1",
    "admin",
    "login",
];

/// Why a passphrase is too easy to guess: the biggest pattern an attacker would try, or its
/// shortness when no pattern explains it. Carries no part of the passphrase.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Weakness {
    /// Too few unpredictable characters.
    TooShort,
    /// One of the most common passwords (possibly capitalised, reversed or with l33t digits).
    CommonPassword,
    /// A repeated character or group ("aaa", "abcabc").
    Repeat,
    /// A sequence of letters or digits ("abcd", "6543").
    Sequence,
    /// A run of neighbouring keys ("qwerty", "zxcvb").
    KeyboardRun,
    /// A year ("1987", "2024").
    Year,
}

impl Weakness {
    /// A short English sentence naming the problem.
    pub fn message(&self) -> &'static str {
        match self {
            Weakness::TooShort => "It is too short: add more words or characters.",
            Weakness::CommonPassword => "It contains one of the most common passwords.",
            Weakness::Repeat => "Repeats like \"aaa\" or \"abcabc\" are easy to guess.",
            Weakness::Sequence => "Sequences like \"abcd\" or \"6543\" are easy to guess.",
            Weakness::KeyboardRun => "Rows of keys like \"qwerty\" are easy to guess.",
            Weakness::Year => "Years are easy to guess.",
        }
    }
}

/// The estimate of one passphrase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Strength {
    /// log10 of the estimated number of guesses.
    pub guesses_log10: f64,
    /// zxcvbn's scale: 0 (too guessable, < 10^3 guesses), 1 (< 10^6), 2 (< 10^8), 3 (< 10^10),
    /// 4 (very unguessable).
    pub score: u8,
    /// Why it is weak; `None` when it is acceptable.
    pub weakness: Option<Weakness>,
}

impl Strength {
    /// Whether the worker accepts it: a score of at least [`MIN_SCORE`].
    pub fn is_acceptable(&self) -> bool {
        self.score >= MIN_SCORE
    }

    /// The verdict in one English line, for live feedback.
    pub fn summary(&self) -> String {
        match (self.score, self.weakness) {
            (4.., _) => "Strength: strong".to_owned(),
            (MIN_SCORE.., _) => "Strength: good".to_owned(),
            (_, weakness) => format!(
                "Strength: too weak. {} Four or more random words make a strong passphrase.",
                weakness.unwrap_or(Weakness::TooShort).message()
            ),
        }
    }
}

/// Estimates how hard `passphrase` is to guess (its first [`MAX_ANALYSED_CHARS`] characters).
pub fn estimate(passphrase: &str) -> Strength {
    let chars: Vec<char> = passphrase.chars().take(MAX_ANALYSED_CHARS).collect();
    let (guesses_log10, patterns) = most_guessable(&chars, &mut Memo::default());
    let score = score(guesses_log10);
    let weakness = (score < MIN_SCORE).then(|| {
        patterns
            .iter()
            .filter_map(|&(len, kind)| kind.map(|k| (len, k)))
            .max_by_key(|&(len, _)| len)
            .map_or(Weakness::TooShort, |(_, kind)| kind)
    });
    Strength {
        guesses_log10,
        score,
        weakness,
    }
}

/// zxcvbn's `guesses_to_score` (with its `DELTA` of 5 guesses).
fn score(guesses_log10: f64) -> u8 {
    let below = |limit: f64| guesses_log10 < (limit + 5.0).log10();
    if below(1e3) {
        0
    } else if below(1e6) {
        1
    } else if below(1e8) {
        2
    } else if below(1e10) {
        3
    } else {
        4
    }
}

/// A pattern found in the passphrase: characters `i..=j`, its guesses, and what it is.
#[derive(Clone, Copy, Debug)]
struct Pattern {
    i: usize,
    j: usize,
    log10: f64,
    kind: Weakness,
}

/// Estimates of repeated groups, so each distinct group is estimated once.
#[derive(Default)]
struct Memo(Vec<(Vec<char>, f64)>);

/// The last pattern of the best sequence of `l` patterns covering a prefix.
#[derive(Clone, Copy)]
struct Cell {
    /// l! * product + penalty, log10 (the quantity minimised).
    g: f64,
    /// The product of the patterns' guesses, log10.
    pi: f64,
    /// Where the last pattern starts.
    start: usize,
    /// What it is (`None`: brute force).
    kind: Option<Weakness>,
}

/// zxcvbn's `most_guessable_match_sequence`: the sequence of non-overlapping patterns (brute
/// force filling the gaps) with the fewest guesses, minimising `l! * product + D^(l-1)`.
/// Returns log10 of its guesses and its patterns as (length, kind), in order.
fn most_guessable(pw: &[char], memo: &mut Memo) -> (f64, Vec<(usize, Option<Weakness>)>) {
    let n = pw.len();
    if n == 0 {
        return (0.0, Vec::new());
    }
    let patterns = find_patterns(pw, memo);
    // best[k][l]: the best sequence of l patterns covering pw[..=k] (index l; 0 unused).
    let mut best: Vec<Vec<Option<Cell>>> = vec![vec![None; n + 1]; n];
    let update = |best: &mut Vec<Vec<Option<Cell>>>,
                  k: usize,
                  l: usize,
                  pi: f64,
                  start: usize,
                  kind: Option<Weakness>| {
        let g = log10_add(
            log10_factorial(l) + pi,
            SEQUENCE_PENALTY_LOG10 * (l - 1) as f64,
        );
        // A sequence with as many patterns or fewer that is at least as good wins.
        if best[k][..=l].iter().flatten().any(|c| c.g <= g) {
            return;
        }
        best[k][l] = Some(Cell { g, pi, start, kind });
    };
    let bruteforce = |i: usize, k: usize| {
        let len = k + 1 - i;
        let min = if len == 1 {
            MIN_SUBMATCH_SINGLE
        } else {
            MIN_SUBMATCH_MULTI
        };
        (len as f64 * BRUTEFORCE_CARDINALITY.log10()).max((min + 1.0).log10())
    };
    for k in 0..n {
        for p in patterns.iter().filter(|p| p.j == k) {
            if p.i == 0 {
                update(&mut best, k, 1, p.log10, 0, Some(p.kind));
            } else {
                let before: Vec<(usize, Cell)> = cells(&best[p.i - 1]);
                for (l, c) in before {
                    update(&mut best, k, l + 1, c.pi + p.log10, p.i, Some(p.kind));
                }
            }
        }
        update(&mut best, k, 1, bruteforce(0, k), 0, None);
        for i in 1..=k {
            // Two brute-force runs side by side are never better than one.
            let before: Vec<(usize, Cell)> = cells(&best[i - 1])
                .into_iter()
                .filter(|(_, c)| c.kind.is_some())
                .collect();
            for (l, c) in before {
                update(&mut best, k, l + 1, c.pi + bruteforce(i, k), i, None);
            }
        }
    }
    let Some((mut l, last)) = cells(&best[n - 1])
        .into_iter()
        .min_by(|a, b| a.1.g.total_cmp(&b.1.g))
    else {
        return (n as f64, Vec::new());
    };
    let guesses = last.g;
    // Walk back through the chosen sequence.
    let mut sequence = Vec::new();
    let mut k = n - 1;
    while let Some(cell) = best.get(k).and_then(|row| row.get(l)).copied().flatten() {
        sequence.push((k + 1 - cell.start, cell.kind));
        if cell.start == 0 || l == 1 {
            break;
        }
        k = cell.start - 1;
        l -= 1;
    }
    sequence.reverse();
    (guesses, sequence)
}

fn cells(row: &[Option<Cell>]) -> Vec<(usize, Cell)> {
    row.iter()
        .enumerate()
        .filter_map(|(l, c)| c.map(|c| (l, c)))
        .collect()
}

/// Every pattern in `pw`, each costing at least zxcvbn's minimum for a part of a passphrase.
fn find_patterns(pw: &[char], memo: &mut Memo) -> Vec<Pattern> {
    let mut found = Vec::new();
    common_passwords(pw, &mut found);
    repeats(pw, memo, &mut found);
    sequences(pw, &mut found);
    keyboard_runs(pw, &mut found);
    years(pw, &mut found);
    for p in &mut found {
        if p.j + 1 - p.i < pw.len() {
            let min = if p.i == p.j {
                MIN_SUBMATCH_SINGLE
            } else {
                MIN_SUBMATCH_MULTI
            };
            p.log10 = p.log10.max(min.log10());
        }
    }
    found
}

fn lower(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

/// The letter a l33t character stands for.
fn unleet(c: char) -> Option<char> {
    Some(match c {
        '4' | '@' => 'a',
        '8' => 'b',
        '(' | '{' | '[' | '<' => 'c',
        '3' => 'e',
        '6' | '9' => 'g',
        '1' | '!' | '|' => 'i',
        '0' => 'o',
        '$' | '5' => 's',
        '7' | '+' => 't',
        '%' => 'x',
        '2' => 'z',
        _ => return None,
    })
}

/// Common passwords, as typed, reversed, or with l33t substitutions; capitals add variations.
fn common_passwords(pw: &[char], found: &mut Vec<Pattern>) {
    let low: Vec<char> = pw.iter().map(|&c| lower(c)).collect();
    let unleeted: Vec<char> = low.iter().map(|&c| unleet(c).unwrap_or(c)).collect();
    for (rank, word) in COMMON.iter().enumerate() {
        let word: Vec<char> = word.chars().collect();
        let len = word.len();
        if len > pw.len() {
            continue;
        }
        let rank = (rank + 1) as f64;
        for i in 0..=pw.len() - len {
            let j = i + len - 1;
            let (token, window) = (&pw[i..=j], &low[i..=j]);
            let variations = if window == word.as_slice() {
                Some(1.0)
            } else if window.iter().rev().eq(word.iter()) {
                Some(2.0)
            } else if &unleeted[i..=j] == word.as_slice() {
                Some(leet_variations(window))
            } else {
                None
            };
            if let Some(variations) = variations {
                found.push(Pattern {
                    i,
                    j,
                    log10: (rank * variations * upper_variations(token)).log10(),
                    kind: Weakness::CommonPassword,
                });
            }
        }
    }
}

/// zxcvbn's `nCk`, as a float.
fn n_choose_k(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    (1..=k).fold(1.0, |r, d| r * (n + 1 - d) as f64 / d as f64)
}

/// Ways to mix `a` of one kind of character with `b` of another, with at most min(a, b) of
/// the rarer kind (zxcvbn's capitalisation and l33t variations).
fn mix_variations(a: usize, b: usize) -> f64 {
    if a == 0 || b == 0 {
        return 2.0;
    }
    (1..=a.min(b)).map(|i| n_choose_k(a + b, i)).sum()
}

/// zxcvbn's `uppercase_variations`: capitalised, all caps or last-capital doubles; any other
/// mix counts its combinations.
fn upper_variations(token: &[char]) -> f64 {
    let upper = token.iter().filter(|c| c.is_uppercase()).count();
    let lowercase = token.iter().filter(|c| c.is_lowercase()).count();
    if upper == 0 {
        return 1.0;
    }
    let first_only = token.first().is_some_and(|c| c.is_uppercase()) && upper == 1;
    let last_only = token.last().is_some_and(|c| c.is_uppercase()) && upper == 1;
    if first_only || last_only || lowercase == 0 {
        return 2.0;
    }
    mix_variations(upper, lowercase)
}

/// zxcvbn's `l33t_variations` for a lowercased window that matched after un-l33ting.
fn leet_variations(window: &[char]) -> f64 {
    let mut subs: Vec<char> = window
        .iter()
        .copied()
        .filter(|&c| unleet(c).is_some())
        .collect();
    subs.sort_unstable();
    subs.dedup();
    subs.iter()
        .map(|&s| {
            let subbed = window.iter().filter(|&&c| c == s).count();
            let plain = window.iter().filter(|&&c| Some(c) == unleet(s)).count();
            mix_variations(subbed, plain)
        })
        .product()
}

/// A group repeated two or more times: the group's own estimate times the count.
fn repeats(pw: &[char], memo: &mut Memo, found: &mut Vec<Pattern>) {
    let n = pw.len();
    for i in 0..n {
        for len in 1..=(n - i) / 2 {
            let base = &pw[i..i + len];
            let mut count = 1;
            while pw
                .get(i + count * len..i + (count + 1) * len)
                .is_some_and(|next| next == base)
            {
                count += 1;
            }
            if count < 2 {
                continue;
            }
            let base_log10 = match memo.0.iter().find(|(b, _)| b == base) {
                Some((_, g)) => *g,
                None => {
                    let g = most_guessable(base, memo).0;
                    memo.0.push((base.to_vec(), g));
                    g
                }
            };
            found.push(Pattern {
                i,
                j: i + count * len - 1,
                log10: base_log10 + (count as f64).log10(),
                kind: Weakness::Repeat,
            });
        }
    }
}

/// Runs of three or more letters or digits with a constant step of at most 5 ("abc", "7531").
fn sequences(pw: &[char], found: &mut Vec<Pattern>) {
    let class = |c: char| {
        if c.is_ascii_lowercase() {
            1
        } else if c.is_ascii_uppercase() {
            2
        } else if c.is_ascii_digit() {
            3
        } else {
            0
        }
    };
    let n = pw.len();
    let mut i = 0;
    while i + 2 < n {
        let step = |k: usize| i64::from(u32::from(pw[k + 1])) - i64::from(u32::from(pw[k]));
        let delta = step(i);
        let mut j = i + 1;
        while j + 1 < n && step(j) == delta {
            j += 1;
        }
        let same_class = class(pw[i]) != 0 && pw[i..=j].iter().all(|&c| class(c) == class(pw[i]));
        if j - i >= 2 && delta != 0 && delta.abs() <= 5 && same_class {
            let first = pw[i];
            let base: f64 = if matches!(first, 'a' | 'A' | 'z' | 'Z' | '0' | '1' | '9') {
                4.0
            } else if first.is_ascii_digit() {
                10.0
            } else {
                26.0
            };
            let direction = if delta > 0 { 1.0 } else { 2.0 };
            found.push(Pattern {
                i,
                j,
                log10: (base * direction * (j + 1 - i) as f64).log10(),
                kind: Weakness::Sequence,
            });
        }
        // The next run may start on this run's last character.
        i = if j > i + 1 { j } else { i + 1 };
    }
}

/// The US keyboard, unshifted and shifted, one row per string. Row `r`'s key `c` sits at
/// column `KEY_START[r] + c`; a key's upper neighbours are at its column and the next one, its
/// lower neighbours at the previous column and its own (the slanted layout of zxcvbn's
/// `adjacency_graphs`).
const KEYS: [(&str, &str); 4] = [
    ("`1234567890-=", "~!@#$%^&*()_+"),
    ("qwertyuiop[]\\", "QWERTYUIOP{}|"),
    ("asdfghjkl;'", "ASDFGHJKL:\""),
    ("zxcvbnm,./", "ZXCVBNM<>?"),
];
const KEY_START: [i32; 4] = [0, 1, 1, 1];

/// Where `c` is: (row, column, shifted).
fn key(c: char) -> Option<(usize, i32, bool)> {
    KEYS.iter().enumerate().find_map(|(row, (plain, shifted))| {
        let at = |s: &str| s.chars().position(|k| k == c);
        let col = |p: usize| KEY_START[row] + p as i32;
        at(plain)
            .map(|p| (row, col(p), false))
            .or_else(|| at(shifted).map(|p| (row, col(p), true)))
    })
}

/// The direction (0..6) from key `a` to its neighbour `b`, if they are neighbours.
fn direction(a: (usize, i32), b: (usize, i32)) -> Option<u8> {
    let ((ra, ca), (rb, cb)) = (a, b);
    if ra == rb {
        return match cb - ca {
            -1 => Some(0),
            1 => Some(1),
            _ => None,
        };
    }
    if rb + 1 == ra {
        return match cb - ca {
            0 => Some(2),
            1 => Some(3),
            _ => None,
        };
    }
    if ra + 1 == rb {
        return match cb - ca {
            -1 => Some(4),
            0 => Some(5),
            _ => None,
        };
    }
    None
}

/// (starting positions, average degree) of the keyboard graph, as zxcvbn's
/// `KEYBOARD_STARTING_POSITIONS` and `KEYBOARD_AVERAGE_DEGREE`.
fn keyboard_graph() -> (f64, f64) {
    let keys: Vec<(usize, i32)> = KEYS
        .iter()
        .enumerate()
        .flat_map(|(row, (plain, _))| {
            (0..plain.chars().count()).map(move |p| (row, KEY_START[row] + p as i32))
        })
        .collect();
    let edges: usize = keys
        .iter()
        .map(|&a| keys.iter().filter(|&&b| direction(a, b).is_some()).count())
        .sum();
    // Shifted and unshifted characters are both starting points.
    (2.0 * keys.len() as f64, edges as f64 / keys.len() as f64)
}

/// Runs of three or more neighbouring keys; each change of direction is a turn.
fn keyboard_runs(pw: &[char], found: &mut Vec<Pattern>) {
    let n = pw.len();
    let mut graph = None;
    let mut i = 0;
    while i + 2 < n {
        let Some((row, col, shifted)) = key(pw[i]) else {
            i += 1;
            continue;
        };
        let (mut at, mut last_dir, mut turns) = ((row, col), None, 0);
        let mut shifted_count = usize::from(shifted);
        let mut j = i;
        while let Some((r, c, s)) = pw.get(j + 1).and_then(|&c| key(c)) {
            let Some(dir) = direction(at, (r, c)) else {
                break;
            };
            if last_dir != Some(dir) {
                turns += 1;
                last_dir = Some(dir);
            }
            shifted_count += usize::from(s);
            at = (r, c);
            j += 1;
        }
        if j - i >= 2 {
            let (s, d) = *graph.get_or_insert_with(keyboard_graph);
            let len = j + 1 - i;
            // zxcvbn's `spatial_guesses`: every run of this length or shorter with this many
            // turns or fewer.
            let mut guesses = 0.0;
            for l in 2..=len {
                for t in 1..=turns.min(l - 1) {
                    guesses += n_choose_k(l - 1, t - 1) * s * d.powi(t as i32);
                }
            }
            if shifted_count > 0 {
                guesses *= mix_variations(shifted_count, len - shifted_count);
            }
            found.push(Pattern {
                i,
                j,
                log10: guesses.log10(),
                kind: Weakness::KeyboardRun,
            });
        }
        i = j + 1;
    }
}

/// Years 1900–2099: guessed within a span around [`REFERENCE_YEAR`].
fn years(pw: &[char], found: &mut Vec<Pattern>) {
    for (i, window) in pw.windows(4).enumerate() {
        let digits: Option<Vec<i64>> = window
            .iter()
            .map(|c| c.to_digit(10).map(i64::from))
            .collect();
        let Some(d) = digits else { continue };
        let year = d.iter().fold(0, |y, d| y * 10 + d);
        if (1900..2100).contains(&year) {
            let span = (year - REFERENCE_YEAR).abs().max(MIN_YEAR_SPACE);
            found.push(Pattern {
                i,
                j: i + 3,
                log10: (span as f64).log10(),
                kind: Weakness::Year,
            });
        }
    }
}

fn log10_factorial(l: usize) -> f64 {
    (2..=l).map(|i| (i as f64).log10()).sum()
}

/// log10(10^a + 10^b).
fn log10_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + (1.0 + 10f64.powf(lo - hi)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weakness(pw: &str) -> Option<Weakness> {
        estimate(pw).weakness
    }

    #[test]
    fn test_common_weak_passphrases_are_refused_with_their_reason() {
        for (pw, why) in [
            ("", Weakness::TooShort),
            ("a", Weakness::TooShort),
            ("hunter2", Weakness::CommonPassword),
            ("password", Weakness::CommonPassword),
            ("Password1!", Weakness::CommonPassword),
            ("P@ssw0rd", Weakness::CommonPassword),
            ("drowssap", Weakness::CommonPassword),
            ("iloveyou2", Weakness::CommonPassword),
            ("aaaaaaaaaaaaaaaaaaaa", Weakness::Repeat),
            ("abcabcabcabcabc", Weakness::Repeat),
            ("abcdefghijklmnop", Weakness::Sequence),
            ("1234567890123", Weakness::Sequence),
            ("qwertyuiop", Weakness::CommonPassword),
            ("zxcvbnm,./", Weakness::KeyboardRun),
            ("7ujm6yhn", Weakness::KeyboardRun),
            ("asdfghjkl;'", Weakness::KeyboardRun),
            ("19871987", Weakness::Repeat),
            ("summer1987", Weakness::CommonPassword),
            ("x7#kq", Weakness::TooShort),
        ] {
            let s = estimate(pw);
            assert!(!s.is_acceptable(), "{pw:?} accepted: {s:?}");
            assert_eq!(s.weakness, Some(why), "{pw:?}: {s:?}");
        }
    }

    #[test]
    fn test_strong_passphrases_are_accepted() {
        for pw in [
            "correct horse battery staple",
            "right horse",
            "pw for e2e tests",
            "Tr0ub4dor&3",
            "glimmer otter basalt",
            "zq8#Lm2vRt",
            "Zürich ist schön im Mai",
        ] {
            let s = estimate(pw);
            assert!(s.is_acceptable(), "{pw:?} refused: {s:?}");
            assert_eq!(s.weakness, None);
        }
        assert_eq!(estimate("correct horse battery staple").score, 4);
        assert_eq!(
            estimate("correct horse battery staple").summary(),
            "Strength: strong"
        );
    }

    #[test]
    fn test_the_minimum_sits_between_eight_and_nine_random_characters() {
        // Brute force counts 10 guesses a character (zxcvbn); 10^8 is still score 2.
        let eight = estimate("kq7#mzp2");
        assert_eq!(eight.score, 2, "{eight:?}");
        assert!(!eight.is_acceptable());
        assert_eq!(eight.weakness, Some(Weakness::TooShort));
        let nine = estimate("kq7#mzp2w");
        assert_eq!(nine.score, 3, "{nine:?}");
        assert!(nine.is_acceptable());
        // Score boundaries of zxcvbn: 10^3, 10^6, 10^8, 10^10 (+5 guesses).
        assert_eq!(score(3.0), 0);
        assert_eq!(score((1e3f64 + 5.0).log10()), 1);
        assert_eq!(score(8.0), 2);
        assert_eq!(score((1e8f64 + 5.0).log10()), 3);
        assert_eq!(score(10.0), 3);
        assert_eq!(score(10.5), 4);
    }

    #[test]
    fn test_patterns_cost_fewer_guesses_than_random_characters() {
        let random = estimate("kq7#mzp2wx").guesses_log10;
        for pw in [
            "abcdefghij",
            "qwertyuiop",
            "aaaaaaaaaa",
            "password12",
            "Password12",
        ] {
            assert!(estimate(pw).guesses_log10 < random - 2.0, "{pw}");
        }
        // Capitals and l33t add only a little to a common password.
        let plain = estimate("password").guesses_log10;
        assert!(estimate("Password").guesses_log10 <= plain + 0.5);
        assert!(estimate("p4ssw0rd").guesses_log10 <= plain + 1.0);
        // Adding unpredictable characters always helps.
        let mut last = 0.0;
        for n in 1..=20 {
            let g = estimate(&"kq7#mzp2wxbv9!rt5ynh"[..n]).guesses_log10;
            assert!(g > last, "{n}: {g} <= {last}");
            last = g;
        }
    }

    #[test]
    fn test_long_and_odd_input_is_estimated_without_panic() {
        let long = "a".repeat(10_000);
        assert_eq!(weakness(&long), Some(Weakness::Repeat));
        let strong_prefix = format!("correct horse battery staple {}", "a".repeat(1000));
        assert!(estimate(&strong_prefix).is_acceptable());
        for pw in [
            "\u{0}\u{0}\u{0}",
            "🔒🔒🔒🔒",
            "ǅǅǅ",
            "İİİİİİİİİİİİ",
            "\u{10FFFF}a1",
        ] {
            let _ = estimate(pw);
        }
        assert_eq!(weakness("🔒🔒🔒🔒"), Some(Weakness::Repeat));
    }

    #[test]
    fn test_summary_explains_the_verdict() {
        let weak = estimate("password").summary();
        assert!(weak.starts_with("Strength: too weak."), "{weak}");
        assert!(weak.contains("most common passwords"), "{weak}");
        assert_eq!(estimate("kq7#mzp2w").summary(), "Strength: good");
        assert!(estimate("").summary().contains("too short"));
    }

    #[test]
    fn test_keyboard_graph_matches_zxcvbn() {
        // zxcvbn's qwerty graph: 94 starting positions, average degree about 4.6.
        let (s, d) = keyboard_graph();
        assert_eq!(s, 94.0);
        assert!((4.4..4.8).contains(&d), "{d}");
        // 'g' has the six neighbours f, t, y, h, b, v.
        let g = key('g').map(|(r, c, _)| (r, c));
        let around: String = "ftyhbv"
            .chars()
            .filter(|&c| {
                let k = key(c).map(|(r, c, _)| (r, c));
                matches!((g, k), (Some(g), Some(k)) if direction(g, k).is_some())
            })
            .collect();
        assert_eq!(around, "ftyhbv");
    }
}
