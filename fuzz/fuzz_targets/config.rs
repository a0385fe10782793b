//! The configuration file and `TWOSTEP_*` variables: any text gives a configuration or a
//! one-line error, never a panic. Input: the file's text, optionally followed by a line
//! `---` and `NAME=value` lines standing for the environment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_server::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (file, env) = text.split_once("\n---\n").unwrap_or((text, ""));
    let env: Vec<(String, String)> =
        env.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    match Config::from_toml_str(file, "fuzz.toml", env) {
        Ok((config, _warnings)) => {
            let _ = config.public_host();
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "a config error spans lines: {message:?}");
        }
    }
});
