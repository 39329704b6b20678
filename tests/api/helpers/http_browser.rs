//! A browser over plain HTTP: a cookie jar (reqwest's cookie store) and a
//! client that never follows redirects, so each hop of a flow through
//! gatehouse and Hydra can be looked at.

use std::collections::HashMap;

use url::Url;

use super::TestApp;

/// A browser's cookie jar and a client that never follows redirects.
///
/// Over the tests' plain-http loopback origin Hydra runs with `--dev` and
/// sets its cookies without `Secure`, so a standard cookie store keeps them.
pub struct HttpBrowser {
    pub http: reqwest::Client,
}

/// A page or redirect as the browser got it.
pub struct Hop {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpBrowser {
    pub fn new() -> HttpBrowser {
        let http = super::app::client_builder()
            .cookie_store(true)
            .build()
            .expect("reqwest client");
        HttpBrowser { http }
    }

    /// A browser that sends one `Accept-Language` line per entry of
    /// `languages` with every request (none for an empty list).
    pub fn speaking(languages: &[&str]) -> HttpBrowser {
        let mut headers = reqwest::header::HeaderMap::new();
        for line in languages {
            let value = reqwest::header::HeaderValue::from_str(line).expect("a header value");
            headers.append(reqwest::header::ACCEPT_LANGUAGE, value);
        }
        let http = super::app::client_builder()
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .expect("reqwest client");
        HttpBrowser { http }
    }

    pub async fn get(&self, url: &str) -> Hop {
        Hop::from(self.http.get(url).send().await.expect("GET")).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Hop {
        Hop::from(self.http.post(url).form(form).send().await.expect("POST")).await
    }

    /// GETs `url`, which must redirect; returns the target, resolved against
    /// `url` as a browser does (Hydra sometimes answers with a path).
    pub async fn redirect_target(&self, url: &str) -> String {
        let hop = self.get(url).await;
        let location = match hop.location {
            Some(location) if (300..400).contains(&hop.status) => location,
            _ => panic!("GET {url}: {} {}", hop.status, hop.body),
        };
        Url::parse(url)
            .unwrap()
            .join(&location)
            .unwrap()
            .to_string()
    }

    /// Follows redirects from `url` until a page answers (not 3xx) or the
    /// browser is sent to `stop_at` (the client's callback); returns the last hop.
    pub async fn follow(&self, url: &str, stop_at: &str) -> Hop {
        let mut hop = self.get(url).await;
        for _ in 0..10 {
            match &hop.location {
                Some(next) if !next.starts_with(stop_at) => {
                    let next = next.clone();
                    hop = self.get(&next).await;
                }
                _ => return hop,
            }
        }
        panic!("too many redirects");
    }

    /// Submits the page's form with `fields` on top of its hidden inputs.
    pub async fn submit(
        &self,
        app: &TestApp,
        page: &Hop,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Hop {
        self.submit_at(&app.url(path), page, fields).await
    }

    /// Posts the page's form with `fields` to `url` (another instance's, say).
    pub async fn submit_at(&self, url: &str, page: &Hop, fields: &[(&str, &str)]) -> Hop {
        let form = form(page, fields);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post(url, &form).await
    }
}

impl Hop {
    async fn from(response: reqwest::Response) -> Hop {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.unwrap_or_default();
        Hop {
            status,
            location,
            body,
            headers,
        }
    }

    /// A query parameter of the redirect target.
    pub fn location_param(&self, name: &str) -> Option<String> {
        query_param(self.location.as_deref()?, name)
    }
}

/// A query parameter of `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let value = url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned());
    value
}

/// The form a page's submit sends: its hidden inputs with `fields` set on top.
pub fn form(page: &Hop, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = hidden_inputs(&page.body).into_iter().collect();
    // Ticked boxes go with the form, as a browser sends them.
    form.extend(checked_boxes(&page.body));
    for (k, v) in fields {
        form.retain(|(name, _)| name != k);
        form.push((k.to_string(), v.to_string()));
    }
    form
}

/// `<input type="hidden" name="x" value="y">` pairs of a page (maud's markup).
pub fn hidden_inputs(html: &str) -> HashMap<String, String> {
    let mut inputs = HashMap::new();
    for piece in html.split("<input type=\"hidden\" ").skip(1) {
        let attr = |name: &str| {
            let start = piece.find(&format!("{name}=\""))? + name.len() + 2;
            let end = piece[start..].find('"')? + start;
            Some(piece[start..end].replace("&amp;", "&"))
        };
        if let (Some(name), Some(value)) = (attr("name"), attr("value")) {
            inputs.insert(name, value);
        }
    }
    inputs
}

/// `<input type="checkbox" name="x" value="y" ... checked>` pairs of a
/// page, in page order (a name may repeat).
pub fn checked_boxes(html: &str) -> Vec<(String, String)> {
    let mut boxes = Vec::new();
    for piece in html.split("<input type=\"checkbox\" ").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        let attr = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            let end = tag[start..].find('"')? + start;
            Some(tag[start..end].replace("&amp;", "&"))
        };
        let checked = tag.split_whitespace().any(|word| word == "checked");
        if let (true, Some(name), Some(value)) = (checked, attr("name"), attr("value")) {
            boxes.push((name, value));
        }
    }
    boxes
}

/// The target of the page's first `<a class="button" href="...">`.
pub fn hidden_href(html: &str) -> Option<String> {
    let start = html.find("<a class=\"button\" href=\"")? + "<a class=\"button\" href=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}
