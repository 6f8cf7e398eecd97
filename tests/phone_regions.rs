//! Every region's example numbers from libphonenumber's metadata, written in national and international format,
//! normalised as `user_data.ph` and read by the `phonenumber` crate: both must give the number's E.164 digits.
//!
//! An example in the metadata is a national significant number, so its E.164 digits are the calling code
//! followed by the example: that is the truth both readings are held to.

use phonenumber::metadata::{DATABASE, Descriptor};
use phonenumber::{Mode, PhoneNumber, country};
use pinterest_destination::normalize::{HashedField, normalize};

/// Regions whose example numbers the crate (0.3.10) reads wrongly, with the reason. Our normaliser must still
/// give the truth for them; the crate must still be wrong (so that a fixed crate shows here).
const CRATE_EXCEPTIONS: &[(&str, &str)] = &[
    // The crate strips a national prefix `8` even when it is the first digit of the number, as in toll-free
    // `800 123 45 67`; libphonenumber strips it only when the number as written is not already possible.
    ("RU", "strips the `8` of 8xx numbers"),
    ("KZ", "strips the `8` of 8xx numbers"),
    // Lithuania's prefix for parsing is `[08]`: the crate strips the `8` of 8xx numbers the same way.
    ("LT", "strips the `8` of 8xx numbers"),
    // Belarus's prefix for parsing is `0|80?`: the crate strips `80` from `8 801 …` as well.
    ("BY", "strips the `80` of 801 numbers"),
    // Rwanda's fixed lines start with 250, its calling code: the crate takes it for a calling code written
    // without `+`, although the number as written is already possible.
    ("RW", "reads a leading 250 as the calling code"),
];

/// The number types a region has (fixed line, mobile, toll free, ... voicemail): their lengths make a number
/// possible, and their example numbers are what this test reads.
fn phone_number_types(region: &phonenumber::Metadata) -> impl Iterator<Item = &Descriptor> + Clone {
    let d = region.descriptors();
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
}

/// The example numbers of a region's number types.
fn examples(metadata: &phonenumber::Metadata) -> impl Iterator<Item = &str> {
    phone_number_types(metadata).filter_map(Descriptor::example)
}

/// The crate's E.164 digits for `written`, read with `region` as the default region.
fn crate_e164(region: Option<country::Id>, written: &str) -> Option<String> {
    let number: PhoneNumber = phonenumber::parse(region, written).ok()?;
    Some(
        number
            .format()
            .mode(Mode::E164)
            .to_string()
            .trim_start_matches('+')
            .to_owned(),
    )
}

/// The example written as a user would: the crate's own formatting when the crate reads the example back as
/// itself, otherwise the plain forms (`+code example`, and the national prefix before the example).
fn written_forms(
    metadata: &phonenumber::Metadata,
    example: &str,
    truth: &str,
    national: bool,
) -> Vec<String> {
    let parsed = phonenumber::parse(None, format!("+{truth}")).ok();
    let faithful = parsed
        .as_ref()
        .filter(|n| n.format().mode(Mode::E164).to_string() == format!("+{truth}"));
    let mut forms = Vec::new();
    match faithful {
        Some(number) => {
            forms.push(number.format().mode(Mode::International).to_string());
            if national {
                forms.push(number.format().mode(Mode::National).to_string());
            }
        }
        None => {
            forms.push(format!("+{} {example}", metadata.country_code()));
            if national {
                forms.push(format!(
                    "{}{example}",
                    metadata.national_prefix().unwrap_or("")
                ));
            }
        }
    }
    forms
}

#[test]
fn every_regions_example_numbers_normalise_to_their_e164_digits() {
    let mut checked = 0;
    let mut regions = 0;
    let mut ours_wrong = Vec::new();
    let mut crate_wrong_regions = std::collections::BTreeSet::new();
    for metadata in DATABASE.iter() {
        // Non-geographic calling codes (`001`: +800, +882, …) are no user's country; only their international
        // form is checked, without a country.
        let id: Option<country::Id> = metadata.id().parse().ok();
        let country = id.map(|_| metadata.id().to_ascii_lowercase());
        regions += usize::from(id.is_some());
        for example in examples(metadata) {
            let truth = format!("{}{example}", metadata.country_code());
            for written in written_forms(metadata, example, &truth, id.is_some()) {
                checked += 1;
                let ours = normalize(HashedField::Ph, &written, country.as_deref()).ok();
                if ours.as_deref() != Some(truth.as_str()) {
                    ours_wrong.push(format!(
                        "{} {written:?}: ours {ours:?}, truth {truth}",
                        metadata.id()
                    ));
                }
                if crate_e164(id, &written).as_deref() != Some(truth.as_str()) {
                    crate_wrong_regions.insert(metadata.id().to_owned());
                }
            }
        }
    }
    assert!(
        regions > 240 && checked > 2000,
        "{regions} regions, {checked} numbers"
    );
    assert!(
        ours_wrong.is_empty(),
        "{} of {checked} numbers normalise wrongly:\n{}",
        ours_wrong.len(),
        ours_wrong.join("\n")
    );
    let listed: std::collections::BTreeSet<String> = CRATE_EXCEPTIONS
        .iter()
        .map(|(id, _)| (*id).to_owned())
        .collect();
    assert_eq!(
        crate_wrong_regions, listed,
        "the regions where the crate reads an example wrongly are not those listed in CRATE_EXCEPTIONS"
    );
}

/// Where the normaliser's copy of the metadata lives, generated by [`the_normalisers_metadata_is_the_crates`].
const GENERATED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/normalize/phone_metadata.rs"
);

/// A string literal for the generated file (raw, so that patterns keep their backslashes), whitespace removed:
/// the metadata's patterns are written to be read ignoring whitespace (as the crate compiles them).
fn literal(text: &str) -> String {
    let text: String = text.split_whitespace().collect();
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
}

fn optional(text: Option<&str>) -> String {
    text.map_or_else(
        || "None".to_owned(),
        |text| format!("Some({})", literal(text)),
    )
}

/// The normaliser's table, rendered from the crate's metadata: per region what libphonenumber's parse reads.
fn render_metadata() -> String {
    let mut regions: Vec<&phonenumber::Metadata> = DATABASE.iter().collect();
    regions.sort_by(|a, b| a.id().cmp(b.id()));
    let mut out = String::from(
        "//! libphonenumber's metadata as the phone normaliser reads it (9.0.33, from the `phonenumber` crate 0.3.10):\n\
         //! per region, what its `parse` needs. Generated, do not edit: `tests/phone_regions.rs` checks it against the\n\
         //! crate, and `PHONE_METADATA=write cargo test --test integration phone_regions::` writes it again.\n\
         //! Patterns are the metadata's, without the whitespace it lays them out with.\n\n\
         use super::Region;\n\n\
         /// Every region, sorted by id.\n\
         #[rustfmt::skip]\n\
         pub(super) const REGIONS: &[Region] = &[\n",
    );
    for region in regions {
        let main = DATABASE
            .by_code(&region.country_code())
            .and_then(|regions| regions.first().map(|first| first.id() == region.id()))
            .unwrap_or(false);
        let mut lengths: Vec<u16> = phone_number_types(region)
            .flat_map(|t| t.possible_length().iter().copied())
            .collect();
        lengths.sort_unstable();
        lengths.dedup();
        let mut local: Vec<u16> = phone_number_types(region)
            .flat_map(|t| t.possible_local_length().iter().copied())
            .filter(|l| !lengths.contains(l))
            .collect();
        local.sort_unstable();
        local.dedup();
        out.push_str(&format!(
            "    Region {{ id: {:?}, code: {}, main: {main}, international_prefix: {}, national_prefix: {}, \
             national_prefix_for_parsing: {}, transform_rule: {}, lengths: &{lengths:?}, local_lengths: &{local:?}, \
             pattern: {} }},\n",
            region.id(),
            region.country_code(),
            optional(region.international_prefix().map(|r| r.as_str())),
            optional(region.national_prefix()),
            optional(region.national_prefix_for_parsing().map(|r| r.as_str())),
            optional(region.national_prefix_transform_rule()),
            literal(region.descriptors().general().national_number().as_str()),
        ));
    }
    out.push_str("];\n");
    out
}

#[test]
fn the_normalisers_metadata_is_the_crates() {
    let rendered = render_metadata();
    if std::env::var("PHONE_METADATA").as_deref() == Ok("write") {
        std::fs::write(GENERATED, &rendered).expect("write the generated metadata");
    }
    let committed = std::fs::read_to_string(GENERATED).unwrap_or_default();
    assert!(
        committed == rendered,
        "src/normalize/phone_metadata.rs differs from the phonenumber crate's metadata: run \
         PHONE_METADATA=write cargo test --test integration phone_regions:: and commit the result"
    );
}
