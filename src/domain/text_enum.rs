/// Declares a closed set of values stored as text in the database and used in
/// JSON: `as_str`, `parse` (with a message listing what is accepted), `ALL`,
/// `Display`, and serde as the same text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident ($field:literal) { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Result<Self, $crate::domain::InvalidInput> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::domain::InvalidInput::new(
                        $field,
                        format!(
                            "{} must be one of {}, not {:?}",
                            $field,
                            [$($text),+].join(", "),
                            other
                        ),
                    )),
                }
            }
        }

        /// Reading a stored value: anything but one of ours is an error
        /// (never quietly some default).
        impl TryFrom<String> for $name {
            type Error = $crate::domain::InvalidInput;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                $name::parse(&text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // The OpenAPI document lists the accepted values.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use text_enum;
