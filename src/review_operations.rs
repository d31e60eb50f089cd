//! The engine's review operations: the queue, people's labels (moderators'
//! resolutions and sites' reports) and the statistics, each limited to the
//! sites the caller's key may see. Labels are durable before they are
//! answered.

use crate::auth::{Principal, Role};
use crate::domain::{Decision, Label, UnixMillis};
use crate::engine::Engine;
use crate::error::Error;
use crate::review::{
    CorrectionSource, LabelRequest, QueueCursor, QueueFilter, QueuePage, SiteScope,
};
use crate::stats::{StatsQuery, Tally};

/// The sites a `Review` call covers: the named site if the key may
/// moderate it; with none named, every site for admins and unrestricted
/// moderators, or the moderator's own sites.
pub fn review_scope(caller: &Principal, requested_site: &str) -> Result<SiteScope, Error> {
    caller.require_moderator()?;
    if !requested_site.is_empty() {
        if !caller.may_moderate(requested_site) {
            return Err(Error::PermissionDenied(format!(
                "key {:?} may not moderate site {requested_site:?}",
                caller.name
            )));
        }
        return Ok(SiteScope::Sites(vec![requested_site.to_string()]));
    }
    match caller.role {
        Role::Moderator if !caller.sites.is_empty() => Ok(SiteScope::Sites(caller.sites.clone())),
        Role::Moderator | Role::Admin | Role::Site => Ok(SiteScope::All),
    }
}

/// A moderator's resolution of several items at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolve {
    /// Distinct, well-formed decision ids.
    pub decision_ids: Vec<String>,
    pub label: Label,
    /// The moderator's name as they gave it; the key's name when empty.
    pub moderator: String,
    pub note: String,
}

impl Engine {
    /// One page of the queue.
    pub fn list_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        page_size: usize,
    ) -> Result<QueuePage, Error> {
        Ok(self.store().queue_page(filter, after, page_size)?)
    }

    /// Labels every listed decision, after checking that all exist and
    /// that the caller may moderate all of their sites (so a refused call
    /// changes nothing). Same label again: unchanged, not recorded.
    pub async fn resolve_items(
        &self,
        caller: &Principal,
        resolve: Resolve,
    ) -> Result<Vec<Decision>, Error> {
        caller.require_moderator()?;
        for decision_id in &resolve.decision_ids {
            let decision = self.decision(decision_id)?;
            if !caller.may_moderate(&decision.comment.site_id) {
                return Err(Error::PermissionDenied(format!(
                    "key {:?} may not moderate decision {decision_id:?} of site {:?}",
                    caller.name, decision.comment.site_id
                )));
            }
        }
        let by = if resolve.moderator.is_empty() {
            caller.name.clone()
        } else {
            resolve.moderator
        };
        let request = LabelRequest {
            label: resolve.label,
            by,
            key_name: caller.name.clone(),
            source: CorrectionSource::Moderator,
            note: resolve.note,
        };
        let labelled =
            self.store()
                .apply_labels(&resolve.decision_ids, &request, UnixMillis::now())?;
        let decisions = resolve
            .decision_ids
            .iter()
            .zip(labelled)
            .map(|(decision_id, labelled)| {
                labelled
                    .map(|labelled| labelled.decision().clone())
                    .ok_or_else(|| not_found(decision_id))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.store().durable().await?;
        Ok(decisions)
    }

    /// A site's report that a decision was wrong (or right): recorded as a
    /// correction from the site, under the key's name. The caller has
    /// already been checked to act for the decision's site.
    pub async fn report(
        &self,
        caller: &Principal,
        decision_id: &str,
        label: Label,
        note: String,
    ) -> Result<Decision, Error> {
        let request = LabelRequest {
            label,
            by: caller.name.clone(),
            key_name: caller.name.clone(),
            source: CorrectionSource::Site,
            note,
        };
        let decision = self.label(decision_id, &request)?;
        self.store().durable().await?;
        Ok(decision)
    }

    /// The figures of the scope's decisions since a time, summed over its
    /// sites.
    pub fn stats(&self, query: &StatsQuery) -> Result<Tally, Error> {
        let sites = match &query.scope {
            SiteScope::All => self.store().sites()?.into_iter().collect(),
            SiteScope::Sites(sites) => sites.clone(),
        };
        let since = query.since.unwrap_or(UnixMillis(i64::MIN));
        let mut tally = Tally::default();
        for site in &sites {
            tally.merge(&self.store().site_tally(site, since)?);
        }
        Ok(tally)
    }

    fn label(&self, decision_id: &str, request: &LabelRequest) -> Result<Decision, Error> {
        let labelled = self
            .store()
            .apply_label(decision_id, request, UnixMillis::now())?
            .ok_or_else(|| not_found(decision_id))?;
        Ok(labelled.decision().clone())
    }
}

fn not_found(decision_id: &str) -> Error {
    Error::NotFound(format!("no decision with id {decision_id:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, sites: &[&str]) -> Principal {
        Principal {
            name: "k".to_string(),
            role,
            sites: sites.iter().map(|site| site.to_string()).collect(),
        }
    }

    #[test]
    fn scopes_follow_the_key() {
        let limited = principal(Role::Moderator, &["a.example"]);
        assert_eq!(
            review_scope(&limited, "").unwrap(),
            SiteScope::Sites(vec!["a.example".to_string()])
        );
        assert!(matches!(
            review_scope(&limited, "b.example"),
            Err(Error::PermissionDenied(_))
        ));
        assert_eq!(
            review_scope(&principal(Role::Moderator, &[]), "").unwrap(),
            SiteScope::All
        );
        assert_eq!(
            review_scope(&principal(Role::Admin, &[]), "b.example").unwrap(),
            SiteScope::Sites(vec!["b.example".to_string()])
        );
        assert!(matches!(
            review_scope(&principal(Role::Site, &["a.example"]), ""),
            Err(Error::PermissionDenied(_))
        ));
    }
}
