use crate::domain::text_enum::text_enum;

text_enum! {
    /// What a user may do beyond reading.
    pub enum Role("role") {
        Reader => "reader",
        Author => "author",
        Editor => "editor",
        Admin => "admin",
    }
}

impl Role {
    /// Staff read everything, whatever their subscription.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Author | Role::Editor | Role::Admin)
    }

    /// May use the admin API at all (authors write drafts there).
    pub fn can_use_admin_api(self) -> bool {
        self.is_staff()
    }

    /// May publish, schedule and unpublish, and edit anyone's articles.
    /// Authors only write and edit their own drafts.
    pub fn can_publish(self) -> bool {
        matches!(self, Role::Editor | Role::Admin)
    }

    /// May see the member list and counts.
    pub fn can_read_members(self) -> bool {
        matches!(self, Role::Editor | Role::Admin)
    }

    /// May read the publication's settings.
    pub fn can_read_settings(self) -> bool {
        matches!(self, Role::Editor | Role::Admin)
    }

    /// May change the publication's settings: its name, look, sender.
    pub fn can_change_settings(self) -> bool {
        self == Role::Admin
    }

    /// May change members: comps, suppressions.
    pub fn can_manage_members(self) -> bool {
        self == Role::Admin
    }
}
