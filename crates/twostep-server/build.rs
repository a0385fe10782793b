//! Embeds the translations: every `locales/<language>/*.ftl` file goes into the binary
//! (`include_str!`), so a new language is a new directory and nothing is read from disk
//! at run time. Rebuilt whenever a file under `locales/` changes or is added.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=locales");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let mut languages: Vec<_> = std::fs::read_dir(&dir)
        .expect("crates/twostep-server/locales is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    languages.sort();
    let mut out = String::from("/// (language code, [(file name, Fluent source)]), from `locales/`.\n");
    out.push_str("pub const LOCALES: &[(&str, &[(&str, &str)])] = &[\n");
    for language in languages {
        let code = language.file_name().and_then(|n| n.to_str()).expect("a UTF-8 directory name");
        let mut files: Vec<_> = std::fs::read_dir(&language)
            .expect("a readable language directory")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "ftl"))
            .collect();
        files.sort();
        write!(out, "    ({code:?}, &[").unwrap();
        for file in files {
            let name = file.file_name().and_then(|n| n.to_str()).expect("a UTF-8 file name");
            let path = file.to_str().expect("a UTF-8 path");
            write!(out, "({name:?}, include_str!({path:?})), ").unwrap();
        }
        out.push_str("]),\n");
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo")).join("locales.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
