//! Building the otpauth URI from an issuer, an account name and a secret: the secret
//! round-trips through base32, and no issuer or account can add or change a parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::credential::totp;

fuzz_target!(|data: &[u8]| {
    // [issuer len][account len] issuer account secret
    let [a, b, rest @ ..] = data else { return };
    let (a, b) = (usize::from(*a).min(rest.len()), usize::from(*b));
    let (issuer, rest) = rest.split_at(a);
    let (account, secret) = rest.split_at(b.min(rest.len()));
    let (Ok(issuer), Ok(account)) = (std::str::from_utf8(issuer), std::str::from_utf8(account)) else { return };

    let encoded = totp::encode_secret(secret);
    assert!(!encoded.contains('='));
    let decoded = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &encoded);
    assert_eq!(decoded.as_deref(), Some(secret));

    let uri = totp::otpauth_uri(issuer, account, secret);
    let parsed = url::Url::parse(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(parsed.scheme(), "otpauth");
    let pairs: Vec<(String, String)> = parsed.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let expected = vec![("secret".to_owned(), encoded), ("issuer".to_owned(), issuer.to_owned())];
    assert_eq!(pairs, expected, "{uri}");
    assert!(parsed.fragment().is_none(), "{uri}");
    let _ = totp::code_at(secret, 59);
});
