//! Web domains: normalising what the CRM sends, and telling free-mail domains
//! (which never identify an account) from company ones.

/// Consumer mailbox providers: a lead at one of these says nothing about its company.
#[rustfmt::skip]
const FREE_MAIL: &[&str] = &[
    "gmail.com", "googlemail.com",
    "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.co.jp",
    "yahoo.com.br", "yahoo.co.in", "ymail.com", "rocketmail.com",
    "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it",
    "hotmail.es", "live.com", "live.co.uk", "live.fr", "msn.com", "passport.com",
    "icloud.com", "me.com", "mac.com",
    "aol.com", "aim.com",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
    "gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.fr", "gmx.co.uk", "web.de",
    "mail.com", "email.com", "fastmail.com", "fastmail.fm", "hey.com", "tutanota.com",
    "tuta.io", "zohomail.com", "yandex.com", "yandex.ru", "mail.ru", "inbox.ru", "bk.ru",
    "list.ru", "rambler.ru", "qq.com", "163.com", "126.com", "sina.com", "naver.com",
    "daum.net", "hanmail.net", "rediffmail.com", "libero.it", "virgilio.it", "orange.fr",
    "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "t-online.de", "freenet.de",
    "btinternet.com", "sky.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
    "cox.net", "charter.net", "bellsouth.net", "shaw.ca", "rogers.com", "bigpond.com",
    "optusnet.com.au", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl",
];

/// `https://www.Acme.com/about` → `acme.com`; `None` when nothing is left.
pub fn normalise(raw: &str) -> Option<String> {
    let mut d = raw.trim().to_ascii_lowercase();
    if let Some((_, rest)) = d.split_once("://") {
        d = rest.to_string();
    }
    if let Some(end) = d.find(['/', '?', '#', ':']) {
        d.truncate(end);
    }
    let d = d.trim_end_matches('.');
    let d = d.strip_prefix("www.").unwrap_or(d);
    (!d.is_empty() && d.contains('.')).then(|| d.to_string())
}

/// Is `domain` (already normalised) a free-mail provider, built in or listed by the admin?
pub fn is_free_mail(domain: &str, extra: &[String]) -> bool {
    FREE_MAIL.contains(&domain)
        || extra
            .iter()
            .any(|e| normalise(e).is_some_and(|e| e == domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_scheme_www_path_and_case() {
        assert_eq!(
            normalise("https://www.Acme.com/about?x=1").as_deref(),
            Some("acme.com")
        );
        assert_eq!(normalise(" ACME.io. ").as_deref(), Some("acme.io"));
        assert_eq!(normalise("acme.com:443").as_deref(), Some("acme.com"));
        assert_eq!(normalise("").as_deref(), None);
        assert_eq!(normalise("localhost").as_deref(), None);
    }

    #[test]
    fn free_mail_is_built_in_and_extendable() {
        assert!(is_free_mail("gmail.com", &[]));
        assert!(is_free_mail("gmx.de", &[]));
        assert!(is_free_mail("proton.me", &[]));
        assert!(!is_free_mail("acme.com", &[]));
        assert!(is_free_mail("example-isp.net", &["Example-ISP.net".into()]));
    }
}
