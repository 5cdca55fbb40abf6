//! The consumer's browser back at the platform: the IdP's redirect
//! delivered as it came, again, twice at once, or tampered with; and the
//! page the platform shows.

use anyhow::{anyhow, bail, ensure};
use cucumber::{then, when};
use url::Url;

use super::{DelegationWorld, PlatformPage};

impl DelegationWorld {
    /// The redirect the IdP sent, and the conversation it belongs to.
    fn redirect(&self) -> anyhow::Result<(usize, Url)> {
        self.callback
            .as_ref()
            .map(|(index, callback)| (*index, callback.url.clone()))
            .ok_or_else(|| anyhow!("the IdP has not sent the consumer back to the platform"))
    }

    /// Open `url` on the platform as the browser of the conversation at
    /// `index`; the page is kept and the brand API calls it caused are
    /// attributed to that conversation.
    pub async fn deliver(&mut self, index: usize, url: &str) -> anyhow::Result<PlatformPage> {
        let page = self.open_on_platform(url).await?;
        self.attribute_api_requests(index);
        self.pages.push(page.clone());
        Ok(page)
    }

    /// Deliver the IdP's redirect as it came.
    pub async fn deliver_callback(&mut self) -> anyhow::Result<PlatformPage> {
        let (index, url) = self.redirect()?;
        self.deliver(index, url.as_str()).await
    }
}

/// `url` with its query rebuilt by `edit` over the (name, value) pairs.
fn with_query(url: &Url, edit: impl FnOnce(&mut Vec<(String, String)>)) -> Url {
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    edit(&mut pairs);
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(&pairs);
    out
}

/// Replace the value of `name` in the query.
fn set_param(url: &Url, name: &str, value: &str) -> Url {
    with_query(url, |pairs| {
        for (k, v) in pairs.iter_mut() {
            if k == name {
                *v = value.to_string();
            }
        }
    })
}

#[when("the consumer's browser follows the redirect to the platform")]
#[when("the consumer's browser follows the same redirect again")]
async fn follow_redirect(world: &mut DelegationWorld) -> anyhow::Result<()> {
    world.deliver_callback().await.map(drop)
}

#[when("the consumer's browser delivers the redirect twice at the same moment")]
async fn deliver_twice(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let (index, url) = world.redirect()?;
    let (one, two) = futures::join!(
        world.open_on_platform(url.as_str()),
        world.open_on_platform(url.as_str())
    );
    world.pages.push(one?);
    world.pages.push(two?);
    world.attribute_api_requests(index);
    Ok(())
}

#[when(regex = r"^a callback (.+) reaches the platform$")]
async fn tampered(world: &mut DelegationWorld, tampering: String) -> anyhow::Result<()> {
    let (index, url) = world.redirect()?;
    let forged = match tampering.as_str() {
        "without a state" => with_query(&url, |p| p.retain(|(k, _)| k != "state")),
        "with an unknown state" => set_param(&url, "state", &standin::secret::random_token(32)),
        "with an empty state" => set_param(&url, "state", ""),
        // A mix-up attack: the response claims another IdP (RFC 9207).
        "naming another issuer" => set_param(&url, "iss", "https://idp.attacker.example"),
        // RFC 9207 2.4: issuers are compared as strings, exactly.
        "naming the issuer with a trailing slash" => {
            set_param(&url, "iss", &format!("{}/", world.idp.issuer()))
        }
        // The IdP's metadata says its responses carry `iss` (RFC 9207 3).
        "without its iss" => with_query(&url, |p| p.retain(|(k, _)| k != "iss")),
        "with the state repeated" => with_query(&url, |p| {
            let state = p.iter().find(|(k, _)| k == "state").cloned();
            p.extend(state);
        }),
        other => match other
            .strip_prefix("on the callback path of \"")
            .and_then(|o| o.strip_suffix('"'))
        {
            Some(account) => {
                let mut forged = url.clone();
                let path = url.path().replacen(
                    &format!("/callback/{}/", world.conversation(index)?.org),
                    &format!("/callback/{account}/"),
                    1,
                );
                forged.set_path(&path);
                forged
            }
            None => bail!("unknown tampering {other:?}"),
        },
    };
    ensure!(forged != url, "the tampering {tampering:?} changed nothing");
    world.deliver(index, forged.as_str()).await.map(drop)
}

#[when(
    regex = r#"^the callback reaches the platform with the state of conversation "([^"]+)"'s link$"#
)]
async fn spliced(world: &mut DelegationWorld, label: String) -> anyhow::Result<()> {
    let (_, url) = world.redirect()?;
    let other = world.conversation_index(&label)?;
    let state = world
        .last_link(other)?
        .param("state")
        .ok_or_else(|| anyhow!("the link of conversation {label} has no state"))?;
    let forged = set_param(&url, "state", &state);
    world.deliver(other, forged.as_str()).await.map(drop)
}

#[then(expr = "the platform shows a {int} page titled {string} saying {string}")]
fn page_shown(
    world: &mut DelegationWorld,
    status: u16,
    title: String,
    saying: String,
) -> anyhow::Result<()> {
    let page = world.page()?;
    ensure!(
        page.status == status && page.title == title && page.text.contains(&saying),
        "the platform showed {}, expected a {status} page titled {title:?} saying {saying:?}",
        page.describe()
    );
    Ok(())
}

/// The last two pages, the one titled `title` first.
fn pair_by_title<'a>(
    world: &'a DelegationWorld,
    title: &str,
) -> anyhow::Result<(&'a PlatformPage, &'a PlatformPage)> {
    let [.., a, b] = world.pages.as_slice() else {
        bail!("the browser was not back at the platform twice");
    };
    if a.title == title {
        Ok((a, b))
    } else if b.title == title {
        Ok((b, a))
    } else {
        bail!(
            "no page titled {title:?}: {} and {}",
            a.describe(),
            b.describe()
        )
    }
}

#[then(expr = "one page is titled {string} with status {int}")]
fn one_page(world: &mut DelegationWorld, title: String, status: u16) -> anyhow::Result<()> {
    let (page, _) = pair_by_title(world, &title)?;
    ensure!(page.status == status, "{}", page.describe());
    Ok(())
}

#[then(expr = "the other page is titled {string} with status {int} and says {string}")]
fn other_page(
    world: &mut DelegationWorld,
    title: String,
    status: u16,
    saying: String,
) -> anyhow::Result<()> {
    let (page, other) = pair_by_title(world, &title)?;
    ensure!(
        page.status == status && page.text.contains(&saying) && other.title != title,
        "the pages are {} and {}",
        page.describe(),
        other.describe()
    );
    Ok(())
}
