use super::text_enum::text_enum;

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

    /// May create and publish articles through the admin API.
    pub fn can_publish(self) -> bool {
        matches!(self, Role::Editor | Role::Admin)
    }
}
