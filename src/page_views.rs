//! Page views counted on the server, per article and day (UTC), without
//! anything about the visitor. The article page adds one to this process's
//! tally (a lock and a hash-map entry, no database write on the reader's
//! path); the scheduler adds the tally to `article_views` every
//! `BROADSHEET_PAGE_VIEW_FLUSH_MS`. Crawlers and link previewers are left
//! out by user agent (`isbot`'s list), as are requests without one; staff
//! reading their own site are not counted by the caller. A process that
//! dies loses at most one interval of counts.

use std::{collections::HashMap, sync::Mutex};

use time::Date;

/// One article's views on one day, not yet stored.
pub type Tally = Vec<(i32, Date, i64)>;

/// User agents remembered as person or bot: matching `isbot`'s list of
/// about 350 patterns on every view cost a sixth of the article page's
/// throughput, and a site sees few distinct user agents.
const KNOWN_AGENTS: usize = 4096;

#[derive(Default)]
pub struct PageViews {
    pending: Mutex<HashMap<(i32, Date), i64>>,
    agents: Mutex<HashMap<Box<str>, bool>>,
    bots: isbot::Bots,
}

impl PageViews {
    /// Whether a request with this user agent is a person's.
    pub fn is_person(&self, user_agent: Option<&str>) -> bool {
        let Some(agent) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
            return false;
        };
        if let Some(known) = self.agents.lock().expect("known agents").get(agent) {
            return *known;
        }
        let person = !self.bots.is_bot(agent);
        let mut agents = self.agents.lock().expect("known agents");
        if agents.len() >= KNOWN_AGENTS {
            agents.clear();
        }
        agents.insert(agent.into(), person);
        person
    }

    /// Counts a view of `article_id` today, unless a bot made it; says
    /// whether it counted.
    pub fn count(&self, article_id: i32, user_agent: Option<&str>, today: Date) -> bool {
        if !self.is_person(user_agent) {
            return false;
        }
        *self
            .pending
            .lock()
            .expect("page view tally")
            .entry((article_id, today))
            .or_insert(0) += 1;
        true
    }

    /// Empties the tally, for storing.
    pub fn take(&self) -> Tally {
        let taken = std::mem::take(&mut *self.pending.lock().expect("page view tally"));
        taken.into_iter().map(|((id, day), n)| (id, day, n)).collect()
    }

    /// Puts back a tally that could not be stored, to try again.
    pub fn restore(&self, tally: Tally) {
        let mut pending = self.pending.lock().expect("page view tally");
        for (id, day, n) in tally {
            *pending.entry((id, day)).or_insert(0) += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const BROWSER: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

    #[test]
    fn people_are_counted_per_article_and_day_and_bots_are_not() {
        let views = PageViews::default();
        let today = date!(2026 - 12 - 07);
        assert!(views.count(1, Some(BROWSER), today));
        assert!(views.count(1, Some(BROWSER), today));
        assert!(views.count(2, Some(BROWSER), today));
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "curl/8.5.0",
            "python-requests/2.32.3",
            "",
        ] {
            assert!(!views.count(1, Some(bot), today), "{bot}");
        }
        assert!(!views.count(1, None, today));
        let mut tally = views.take();
        tally.sort();
        assert_eq!(tally, vec![(1, today, 2), (2, today, 1)]);
        assert!(views.take().is_empty());
        views.restore(tally);
        views.count(1, Some(BROWSER), today);
        let mut again = views.take();
        again.sort();
        assert_eq!(again, vec![(1, today, 3), (2, today, 1)]);
    }
}
