//! Who may do what to an article through the admin API.

use crate::domain::{article::ArticleStatus, role::Role};

/// The staff member acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i32,
    pub role: Role,
}

impl Actor {
    /// Editors and admins see every article; authors only their own.
    pub fn may_view(self, author_id: i32) -> bool {
        self.role.can_publish() || (self.role == Role::Author && author_id == self.user_id)
    }

    /// Editors and admins edit any article; authors only their own drafts.
    pub fn may_edit(self, author_id: i32, status: ArticleStatus) -> bool {
        self.role.can_publish()
            || (self.role == Role::Author && author_id == self.user_id && status == ArticleStatus::Draft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_touch_only_their_own_drafts() {
        let author = Actor {
            user_id: 1,
            role: Role::Author,
        };
        assert!(author.may_view(1) && !author.may_view(2));
        assert!(author.may_edit(1, ArticleStatus::Draft));
        assert!(!author.may_edit(1, ArticleStatus::Published));
        assert!(!author.may_edit(2, ArticleStatus::Draft));
        let editor = Actor {
            user_id: 3,
            role: Role::Editor,
        };
        assert!(editor.may_view(1) && editor.may_edit(1, ArticleStatus::Published));
        let reader = Actor {
            user_id: 4,
            role: Role::Reader,
        };
        assert!(!reader.may_view(4));
    }
}
