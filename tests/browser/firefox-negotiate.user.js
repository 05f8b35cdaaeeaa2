// A fresh Firefox profile's prefs for the Negotiate tests (python/tests/test_negotiate.py,
// ffi/tests/negotiate_interop.sh): copied as user.js into a new profile directory; run
// Firefox with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (below).
//
// Negotiate for the test server. allow-non-fqdn alone lets a dotless host such as
// localhost negotiate; trusted-uris is what a deployment sets for its FQDNs. With neither,
// Firefox stays at the 401.
user_pref("network.negotiate-auth.trusted-uris", "localhost");
user_pref("network.negotiate-auth.allow-non-fqdn", true);
// Nothing that reaches out: first run, telemetry, updates, studies, region, safe browsing,
// captive portal, DNS prefetch, push.
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.server", "");
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("browser.region.network.url", "");
user_pref("browser.region.update.enabled", false);
user_pref("geo.provider.network.url", "");
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("network.trr.mode", 5);
user_pref("dom.push.connection.enabled", false);
user_pref("media.gmp-manager.updateEnabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.search.update", false);
// Remote settings: their server URL is honoured only with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in
// the environment (both tests set it); then strace shows no connection and no DNS query but
// the test server's. Should anything still try to leave, an HTTP proxy on the discard port
// (127.0.0.1:9, where nothing listens) catches it; localhost goes direct.
user_pref("services.settings.server", "data:,#remote-settings-off/v1");
user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", 9);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("network.proxy.no_proxies_on", "localhost, 127.0.0.1");
