//! Property tests (proptest) of the file-name and label-file parsers: arbitrary input never
//! panics, and every well-formed name parses back to what made it.

use proptest::prelude::*;
use ser_workbench::corpus::{cremad, emodb, iemocap, msp_podcast, ravdess, savee, tess};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}") {
        let _ = emodb::parse_name(&s);
        let _ = ravdess::parse_name(&s);
        let _ = cremad::parse_name(&s);
        let _ = tess::parse_name(&s);
        let _ = savee::parse_code(&s);
        let _ = savee::parse_path(std::path::Path::new(&s));
        let _ = iemocap::parse_eval_line(&s);
        let _ = iemocap::speaker_of(&s);
        let _ = msp_podcast::emotion_of(&s);
        let _ = msp_podcast::split_of(&s);
    }

    #[test]
    fn eval_lines_with_structure_never_panic(
        a in "[0-9.\\- ]{0,12}", utt in "[A-Za-z0-9_]{0,20}", code in "[a-z]{0,4}", vad in "[0-9., ]{0,20}"
    ) {
        let line = format!("[{a}]\t{utt}\t{code}\t[{vad}]");
        let _ = iemocap::parse_eval_line(&line);
    }

    #[test]
    fn emodb_names_round_trip(spk in prop::sample::select(vec!["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"]),
                              t in "[ab][0-9]{2}", code in prop::sample::select(vec!['W', 'L', 'E', 'A', 'F', 'T', 'N']), v in "[a-z]") {
        let name = format!("{spk}{t}{code}{v}.wav");
        let n = emodb::parse_name(&name).expect("valid name");
        prop_assert_eq!(n.speaker, spk);
        prop_assert_eq!(n.text, t);
        prop_assert_eq!(n.code, code);
    }

    #[test]
    fn ravdess_names_round_trip(e in 1u8..=8, i in 1u8..=2, s in 1u8..=2, r in 1u8..=2, a in 1u8..=24) {
        let n = ravdess::parse_name(&format!("03-01-{e:02}-{i:02}-{s:02}-{r:02}-{a:02}.wav")).expect("valid");
        prop_assert_eq!(n.actor, a);
        prop_assert_eq!(n.emotion, ravdess::EMOTIONS[(e - 1) as usize]);
    }

    #[test]
    fn iemocap_rows_round_trip(start in 0.0f64..1000.0, len in 0.1f64..20.0, k in 0u32..999,
                               code in prop::sample::select(vec!["neu", "hap", "ang", "sad", "exc", "fru", "xxx"]),
                               v in 1.0f32..5.0, ac in 1.0f32..5.0, d in 1.0f32..5.0) {
        let utt = format!("Ses03M_impro05_F{k:03}");
        let line = format!("[{start:.4} - {:.4}]\t{utt}\t{code}\t[{v:.4}, {ac:.4}, {d:.4}]", start + len);
        let row = iemocap::parse_eval_line(&line).expect("row").expect("ok");
        prop_assert_eq!(&row.utt, &utt);
        prop_assert_eq!(row.code, code);
        prop_assert!((row.vad[0] - v).abs() < 1e-3);
        prop_assert_eq!(iemocap::speaker_of(&row.utt).expect("speaker").0, "Ses03F");
    }
}
