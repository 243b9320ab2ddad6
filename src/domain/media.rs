//! Uploaded images: which files are images we take (by their bytes, never
//! their names), the names their files are stored under, and how a stored
//! image is offered to browsers (`srcset`, `sizes`, width and height).

use serde::{Deserialize, Serialize};

/// Where stored files are served: `/media/{key}`.
pub const MEDIA_PATH: &str = "/media/";

/// The widths of the WebP copies made of an image wider than them.
pub const VARIANT_WIDTHS: [u32; 3] = [600, 1200, 2000];

/// How wide an image shows in an article: the text column (`main` is
/// 42rem, 672 px at the default font size) or the screen, if narrower.
pub const ARTICLE_IMAGE_SIZES: &str = "(max-width: 720px) 100vw, 672px";

/// The image formats we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageKind {
    /// The format the file's first bytes say it is, whatever its name.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    fn from_extension(extension: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Webp, Self::Gif]
            .into_iter()
            .find(|kind| kind.extension() == extension)
    }
}

/// The name a stored file goes by: `{sha256}.{ext}` for the image as
/// uploaded (metadata removed), `{sha256}-{width}w.webp` for a narrower
/// copy. The hash is the original's, so a name never names two contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaKey(String);

impl MediaKey {
    pub fn original(content_hash: &str, kind: ImageKind) -> Self {
        Self(format!("{content_hash}.{}", kind.extension()))
    }

    pub fn variant(content_hash: &str, width: u32) -> Self {
        Self(format!("{content_hash}-{width}w.webp"))
    }

    /// A key from a request path; anything not shaped like a key we make is
    /// `None`, so no path can reach outside the store.
    pub fn parse(raw: &str) -> Option<Self> {
        let (stem, extension) = raw.split_once('.')?;
        ImageKind::from_extension(extension)?;
        let (hash, width) = match stem.split_once('-') {
            Some((hash, width)) => (hash, Some(width.strip_suffix('w')?)),
            None => (stem, None),
        };
        let hash_ok = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let width_ok =
            width.is_none_or(|w| !w.is_empty() && w.len() <= 5 && w.bytes().all(|b| b.is_ascii_digit()));
        (hash_ok && width_ok).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> ImageKind {
        let extension = self.0.rsplit('.').next().unwrap_or_default();
        ImageKind::from_extension(extension).expect("keys are made or parsed with a known extension")
    }

    /// Its address on the site.
    pub fn path(&self) -> String {
        format!("{MEDIA_PATH}{}", self.0)
    }
}

/// A narrower copy of a stored image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

impl Variant {
    pub fn path(&self) -> String {
        format!("{MEDIA_PATH}{}", self.key)
    }
}

/// A stored image as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// Narrowest first.
    pub variants: Vec<Variant>,
}

impl StoredImage {
    pub fn path(&self) -> String {
        format!("{MEDIA_PATH}{}", self.key)
    }

    /// Every copy by its width, the original last: the browser picks the
    /// narrowest that fills the space at the screen's density.
    pub fn srcset(&self) -> String {
        self.variants
            .iter()
            .map(|v| format!("{} {}w", v.path(), v.width))
            .chain([format!("{} {}w", self.path(), self.width)])
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The stored key a site path names, if it is one of ours (`/media/…`).
pub fn key_in_path(src: &str) -> Option<&str> {
    src.strip_prefix(MEDIA_PATH)
        .filter(|rest| MediaKey::parse(rest).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_type_is_known_by_its_first_bytes_not_its_name() {
        assert_eq!(ImageKind::sniff(b"\xFF\xD8\xFF\xE0rest"), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(ImageKind::Png));
        assert_eq!(ImageKind::sniff(b"GIF89a...."), Some(ImageKind::Gif));
        assert_eq!(ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageKind::Webp));
        assert_eq!(ImageKind::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageKind::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(ImageKind::sniff(b""), None);
    }

    #[test]
    fn only_keys_shaped_like_ours_parse() {
        for good in [
            format!("{HASH}.jpg"),
            format!("{HASH}-600w.webp"),
            format!("{HASH}.gif"),
        ] {
            assert_eq!(MediaKey::parse(&good).map(|k| k.0), Some(good.clone()));
        }
        for bad in [
            format!("../{HASH}.jpg"),
            format!("{HASH}.svg"),
            format!("{HASH}.jpg.html"),
            format!("{}.jpg", &HASH[1..]),
            format!("{}.jpg", HASH.to_uppercase()),
            format!("{HASH}-w.webp"),
            format!("{HASH}-600.webp"),
            format!("{HASH}-600w-1.webp"),
            "x/../../etc/passwd".to_owned(),
        ] {
            assert_eq!(MediaKey::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_srcset_lists_the_copies_then_the_original() {
        let image = StoredImage {
            key: format!("{HASH}.jpg"),
            width: 1500,
            height: 1000,
            variants: vec![Variant {
                key: format!("{HASH}-600w.webp"),
                width: 600,
                height: 400,
                bytes: 10,
            }],
        };
        assert_eq!(
            image.srcset(),
            format!("/media/{HASH}-600w.webp 600w, /media/{HASH}.jpg 1500w")
        );
        assert_eq!(key_in_path(&image.path()), Some(image.key.as_str()));
        assert_eq!(key_in_path("/media/../x.jpg"), None);
        assert_eq!(key_in_path("https://example.com/a.jpg"), None);
    }
}
