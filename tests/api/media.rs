//! Images: uploads of each format, checked by their bytes, cleaned of
//! metadata, resized into WebP copies, served for a year, and shown in
//! articles with their sizes.

use std::{collections::HashMap, io::Cursor};

use broadsheet::domain::role::Role;
use image::{ImageEncoder, RgbImage, RgbaImage};
use img_parts::{Bytes, ImageEXIF};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// Text hidden in every test image's metadata: it must be in no stored file.
const SECRET_PLACE: &str = "GPS-SECRET-51.4779N";

/// A multipart body with one file field, as browsers send it.
fn multipart(field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----broadsheet-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_as(
    app: &TestApp,
    key: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let (form_type, body) = multipart("file", filename, content_type, bytes);
    let response = app
        .client
        .post(app.url("/admin/api/media"))
        .bearer_auth(key)
        .header(header::CONTENT_TYPE, form_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// EXIF (TIFF, little-endian) with an orientation and a GPS IFD whose
/// processing-method text is [`SECRET_PLACE`].
fn exif_with_gps(orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0: Orientation, GPS IFD pointer.
    let gps_ifd = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    for (tag, kind, count, value) in [
        (0x0112u16, 3u16, 1u32, u32::from(orientation)),
        (0x8825, 4, 1, gps_ifd),
    ] {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: GPSLatitudeRef "N", GPSProcessingMethod (undefined bytes).
    let text_at = gps_ifd + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&0x001Bu16.to_le_bytes());
    tiff.extend_from_slice(&7u16.to_le_bytes());
    tiff.extend_from_slice(&(SECRET_PLACE.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&text_at.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(SECRET_PLACE.as_bytes());
    tiff
}

fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    })
}

/// A 1300×900 JPEG with EXIF: GPS, and `orientation` (6: turn 90° to
/// stand upright).
fn jpeg_with_gps(orientation: u16) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 80)
        .write_image(
            gradient(1300, 900).as_raw(),
            1300,
            900,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(Bytes::from(plain)).unwrap();
    jpeg.set_exif(Some(Bytes::from(exif_with_gps(orientation))));
    jpeg.segments_mut().insert(
        1,
        img_parts::jpeg::JpegSegment::new_with_contents(0xFE, Bytes::from(format!("comment {SECRET_PLACE}"))),
    );
    jpeg.encoder().bytes().to_vec()
}

/// `pixels` as a PNG file.
fn png_of(pixels: &[u8], width: u32, height: u32, color: image::ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(pixels, width, height, color)
        .unwrap();
    out
}

/// A 700×400 PNG with alpha, EXIF and a text chunk.
pub(crate) fn png_with_gps() -> Vec<u8> {
    let pixels = RgbaImage::from_fn(700, 400, |x, _| image::Rgba([200, 10, 10, (x % 256) as u8]));
    let plain = png_of(pixels.as_raw(), 700, 400, image::ExtendedColorType::Rgba8);
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(plain)).unwrap();
    png.set_exif(Some(Bytes::from(exif_with_gps(1))));
    let text = format!("Comment\0{SECRET_PLACE}");
    png.chunks_mut()
        .insert(1, img_parts::png::PngChunk::new(*b"tEXt", Bytes::from(text)));
    png.encoder().bytes().to_vec()
}

/// A 640×480 lossy WebP with EXIF and XMP.
fn webp_with_gps() -> Vec<u8> {
    let pixels = gradient(640, 480);
    let plain = webp::Encoder::from_rgb(pixels.as_raw(), 640, 480)
        .encode(75.0)
        .to_vec();
    let mut webp = img_parts::webp::WebP::from_bytes(Bytes::from(plain)).unwrap();
    webp.set_exif(Some(Bytes::from(exif_with_gps(1))));
    webp.chunks_mut().push(img_parts::riff::RiffChunk::new(
        *b"XMP ",
        img_parts::riff::RiffContent::Data(Bytes::from(format!("<x:xmpmeta>{SECRET_PLACE}</x:xmpmeta>"))),
    ));
    let mut out = Vec::new();
    webp.encoder().write_to(&mut out).unwrap();
    out
}

/// A two-frame 64×48 GIF that loops, with a comment and an XMP block.
fn animated_gif_with_comment() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette = [0u8, 0, 0, 255, 255, 255];
        let mut encoder = gif::Encoder::new(&mut out, 64, 48, &palette).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        encoder
            .write_raw_extension(gif::Extension::Comment.into(), &[SECRET_PLACE.as_bytes()])
            .unwrap();
        encoder
            .write_raw_extension(
                gif::Extension::Application.into(),
                &[
                    b"XMP DataXMP",
                    format!("<x:xmpmeta>{SECRET_PLACE}</x:xmpmeta>").as_bytes(),
                ],
            )
            .unwrap();
        for shade in [0u8, 1] {
            let mut frame = gif::Frame::from_indexed_pixels(64, 48, vec![shade; 64 * 48], None);
            frame.delay = 10;
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

/// A 1×1 PNG whose header claims 100,000 × 100,000 pixels: a few hundred
/// bytes that would ask for 40 GB if decoded.
fn decompression_bomb() -> Vec<u8> {
    let tiny = png_of(&[0, 0, 0], 1, 1, image::ExtendedColorType::Rgb8);
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(tiny)).unwrap();
    let header = png
        .chunks_mut()
        .iter_mut()
        .find(|c| &c.kind() == b"IHDR")
        .unwrap();
    let mut contents = header.contents().to_vec();
    contents[0..4].copy_from_slice(&100_000u32.to_be_bytes());
    contents[4..8].copy_from_slice(&100_000u32.to_be_bytes());
    *header = img_parts::png::PngChunk::new(*b"IHDR", Bytes::from(contents));
    png.encoder().bytes().to_vec()
}

/// Every file stored for an uploaded image: the original and its copies.
async fn stored_files(app: &TestApp, image: &Value) -> Vec<(String, reqwest::header::HeaderMap, Vec<u8>)> {
    let mut urls = vec![image["url"].as_str().unwrap().to_owned()];
    urls.extend(
        image["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["url"].as_str().unwrap().to_owned()),
    );
    let mut files = Vec::new();
    for url in urls {
        // Absolute under PUBLIC_URL, which is not this test server's port.
        let path = format!("/media/{}", url.split_once("/media/").unwrap().1);
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let headers = response.headers().clone();
        files.push((url, headers, response.bytes().await.unwrap().to_vec()));
    }
    files
}

fn has_metadata(bytes: &[u8]) -> bool {
    let mut decoder = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    use image::ImageDecoder;
    decoder.exif_metadata().unwrap().is_some() || decoder.xmp_metadata().unwrap().is_some()
}

#[tokio::test]
async fn each_format_is_taken_cleaned_of_its_gps_metadata_resized_and_served_for_a_year() {
    let app = spawn_app().await;
    let key = app.author_key().await;
    // (file name, type, bytes, width and height as shown, copies' widths)
    type Case = (&'static str, &'static str, Vec<u8>, (u64, u64), &'static [u64]);
    let cases: [Case; 5] = [
        // Kept as it came, less its metadata segments.
        (
            "photo.jpg",
            "image/jpeg",
            jpeg_with_gps(1),
            (1300, 900),
            &[600, 1200],
        ),
        // A phone photo stored on its side: turned upright, so 900 wide.
        (
            "sideways.jpg",
            "image/jpeg",
            jpeg_with_gps(6),
            (900, 1300),
            &[600],
        ),
        ("chart.png", "image/png", png_with_gps(), (700, 400), &[600]),
        ("scan.webp", "image/webp", webp_with_gps(), (640, 480), &[600]),
        (
            "loop.gif",
            "image/gif",
            animated_gif_with_comment(),
            (64, 48),
            &[],
        ),
    ];
    for (name, content_type, bytes, (width, height), copy_widths) in cases {
        assert!(
            String::from_utf8_lossy(&bytes).contains(SECRET_PLACE),
            "{name}: the fixture hides the place"
        );
        let (status, image) = upload_as(&app, &key, name, content_type, &bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {image}");
        assert_eq!(image["content_type"], content_type, "{name}");
        assert_eq!(
            (image["width"].as_u64(), image["height"].as_u64()),
            (Some(width), Some(height)),
            "{name}"
        );
        let variants = image["variants"].as_array().unwrap();
        let widths: Vec<_> = variants.iter().map(|v| v["width"].as_u64().unwrap()).collect();
        assert_eq!(widths, copy_widths, "{name}: {image}");
        assert_eq!(
            image["markdown"],
            format!("![]({})", image["path"].as_str().unwrap())
        );
        assert!(image["path"].as_str().unwrap().starts_with("/media/"), "{image}");
        for variant in variants {
            assert!(
                variant["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("-{}w.webp", variant["width"])),
                "{variant}"
            );
        }
        for (url, headers, stored) in stored_files(&app, &image).await {
            assert!(
                !String::from_utf8_lossy(&stored).contains(SECRET_PLACE),
                "{name}: {url} still carries the metadata"
            );
            assert!(!has_metadata(&stored), "{name}: {url} has EXIF or XMP");
            assert_eq!(
                headers[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(headers["x-content-type-options"], "nosniff");
            let decoded = image::load_from_memory(&stored).unwrap();
            if url.ends_with("w.webp") {
                assert_eq!(headers[header::CONTENT_TYPE], "image/webp");
                assert!(url.ends_with(&format!("-{}w.webp", decoded.width())), "{url}");
            } else {
                assert_eq!(headers[header::CONTENT_TYPE], content_type);
                assert_eq!(
                    (u64::from(decoded.width()), u64::from(decoded.height())),
                    (width, height),
                    "{url}"
                );
            }
        }
        if name == "loop.gif" {
            let (_, _, stored) = &stored_files(&app, &image).await[0];
            let frames = image::AnimationDecoder::into_frames(
                image::codecs::gif::GifDecoder::new(Cursor::new(stored.as_slice())).unwrap(),
            );
            assert_eq!(frames.count(), 2, "the animation is kept");
        }
    }
}

#[tokio::test]
async fn a_wide_image_gets_webp_copies_at_600_1200_and_2000_pixels_and_uploading_it_again_is_the_same_image()
{
    let app = spawn_app().await;
    let key = app.author_key().await;
    let wide = png_of(
        gradient(2400, 300).as_raw(),
        2400,
        300,
        image::ExtendedColorType::Rgb8,
    );
    let (status, first) = upload_as(&app, &key, "wide.png", "image/png", &wide).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let widths: Vec<_> = first["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["width"].as_u64().unwrap())
        .collect();
    assert_eq!(widths, [600, 1200, 2000]);
    let heights: Vec<_> = first["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, [75, 150, 250], "the aspect ratio is kept");
    let (status, again) = upload_as(&app, &key, "same-picture-new-name.png", "image/png", &wide).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (again["id"].clone(), again["url"].clone()),
        (first["id"].clone(), first["url"].clone())
    );
    assert_eq!(app.count_rows("media").await, 1);
}

#[tokio::test]
async fn a_file_is_judged_by_its_bytes_whatever_its_name_or_declared_type() {
    let app = spawn_app().await;
    let key = app.author_key().await;
    // A PNG that calls itself a JPEG is a PNG.
    let (status, image) = upload_as(&app, &key, "holiday.jpg", "image/jpeg", &png_with_gps()).await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    assert_eq!(image["content_type"], "image/png");
    assert!(image["path"].as_str().unwrap().ends_with(".png"), "{image}");
    // Pages, scripts and vector images that call themselves pictures are refused.
    for (name, bytes) in [
        ("cat.png", b"<html><script>alert(1)</script></html>".to_vec()),
        (
            "logo.gif",
            br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#.to_vec(),
        ),
        ("empty.jpg", Vec::new()),
    ] {
        let (status, answer) = upload_as(&app, &key, name, "image/png", &bytes).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}: {answer}");
        assert_eq!(answer["error"]["field"], "file");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a JPEG, PNG, WebP or GIF"),
            "{answer}"
        );
    }
    // A JPEG cut off after its header is a 422 with the reason, not a 500.
    let truncated = &jpeg_with_gps(1)[..600];
    let (status, answer) = upload_as(&app, &key, "cut.jpg", "image/jpeg", truncated).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(app.count_rows("media").await, 1, "only the PNG was stored");
}

#[tokio::test]
async fn an_oversized_file_and_a_decompression_bomb_are_refused_before_anything_is_stored() {
    let app = spawn_app_with(HashMap::from([(
        "BROADSHEET_MEDIA_MAX_BYTES",
        "50000".to_owned(),
    )]))
    .await;
    let key = app.author_key().await;
    let big = jpeg_with_gps(1);
    assert!(big.len() > 50_000, "the fixture is {} bytes", big.len());
    let (status, answer) = upload_as(&app, &key, "big.jpg", "image/jpeg", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than"),
        "{answer}"
    );

    let bomb = decompression_bomb();
    assert!(bomb.len() < 200, "{} bytes", bomb.len());
    let (status, answer) = upload_as(&app, &key, "bomb.png", "image/png", &bomb).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("100000×100000"),
        "{answer}"
    );
    assert_eq!(app.count_rows("media").await, 0);
    let stored = std::fs::read_dir(app.data_dir.path().join("media"))
        .unwrap()
        .count();
    assert_eq!(stored, 0, "no file was written");
}

#[tokio::test]
async fn only_staff_upload_and_a_form_without_a_file_or_not_multipart_is_a_clear_error() {
    let app = spawn_app().await;
    let reader = app.api_key_for("reader@example.com", Role::Reader).await;
    let png = png_with_gps();
    let (status, _) = upload_as(&app, &reader, "a.png", "image/png", &png).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload_as(&app, "bs_live_not-a-key", "a.png", "image/png", &png).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let key = app.author_key().await;
    let (form_type, body) = multipart("picture", "a.png", "image/png", &png);
    let response = app
        .client
        .post(app.url("/admin/api/media"))
        .bearer_auth(&key)
        .header(header::CONTENT_TYPE, form_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("`file`"),
        "{answer}"
    );

    let response = app
        .client
        .post(app.url("/admin/api/media"))
        .bearer_auth(&key)
        .json(&json!({"file": "aGVsbG8="}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.count_rows("media").await, 0);
}

#[tokio::test]
async fn the_editors_upload_needs_the_pages_csrf_token() {
    let app = spawn_app().await;
    let (client, user_id) = app.member("writer@example.com").await;
    app.set_role(user_id, Role::Author).await;
    let (form_type, body) = multipart("file", "a.png", "image/png", &png_with_gps());
    let send = |token: Option<String>| {
        let mut request = client
            .post(app.url("/admin/media"))
            .header(header::CONTENT_TYPE, form_type.clone())
            .body(body.clone());
        if let Some(token) = token {
            request = request.header("X-CSRF-Token", token);
        }
        request.send()
    };
    assert_eq!(send(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        send(Some("x".repeat(43))).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let token = app.csrf_token(&client).await;
    let response = send(Some(token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let image: Value = response.json().await.unwrap();
    assert_eq!(image["width"], 700);
}

#[tokio::test]
async fn a_stored_file_answers_not_modified_to_its_etag_and_unknown_or_malformed_keys_are_404_pages() {
    let app = spawn_app().await;
    let key = app.author_key().await;
    let (_, image) = upload_as(&app, &key, "chart.png", "image/png", &png_with_gps()).await;
    let url = app.url(image["path"].as_str().unwrap());
    let first = app.client.get(&url).send().await.unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let again = app
        .client
        .get(&url)
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let missing = format!("/media/{}.png", "0".repeat(64));
    for path in [
        missing.as_str(),
        "/media/..%2F..%2Fbroadsheet.db",
        "/media/x.svg",
        "/media/",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn an_uploaded_image_shows_in_the_article_with_its_size_copies_and_lazy_loading() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let (_, image) = upload_as(&app, &key, "photo.jpg", "image/jpeg", &jpeg_with_gps(1)).await;
    let path = image["path"].as_str().unwrap();
    let markdown = format!("Before.\n\n![A gradient, 1300 wide]({path})\n\nAfter.");
    let response = app
        .post_article(
            &key,
            json!({"title": "With a picture", "markdown": markdown, "visibility": "public", "publish": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, page) = app.get_text(&app.client, "/p/with-a-picture").await;
    let stem = path.trim_end_matches(".jpg");
    assert!(
        page.contains(&format!(
            r#"<img src="{path}" alt="A gradient, 1300 wide" width="1300" height="900" srcset="{stem}-600w.webp 600w, {stem}-1200w.webp 1200w, {path} 1300w" sizes="(max-width: 720px) 100vw, 672px" loading="lazy" decoding="async">"#
        )),
        "{page}"
    );
}

/// A local S3 (moto's server, installed by `scripts/test setup`) on a free
/// port, with `bucket` made; stopped when dropped.
struct LocalS3 {
    process: std::process::Child,
    endpoint: String,
}

impl LocalS3 {
    async fn start(bucket: &str) -> Self {
        let program = std::env::var("BROADSHEET_TEST_MOTO_SERVER")
            .unwrap_or_else(|_| "/tmp/bs-moto/bin/moto_server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = std::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} (moto[server]; `scripts/test setup` installs it): {e}"));
        let s3 = Self {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(made) = client.put(format!("{}/{bucket}", s3.endpoint)).send().await {
                assert!(
                    made.status().is_success(),
                    "creating the bucket: {}",
                    made.status()
                );
                return s3;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("moto's S3 server did not start on {}", s3.endpoint);
    }
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn with_a_bucket_configured_images_are_stored_in_s3_and_every_instance_serves_them() {
    let s3 = LocalS3::start("broadsheet-media").await;
    let app = spawn_app_with(HashMap::from([
        ("BROADSHEET_MEDIA_S3_BUCKET", "broadsheet-media".to_owned()),
        ("BROADSHEET_MEDIA_S3_ENDPOINT", s3.endpoint.clone()),
        ("BROADSHEET_MEDIA_S3_PREFIX", "news".to_owned()),
        ("BROADSHEET_MEDIA_S3_ACCESS_KEY_ID", "test-key".to_owned()),
        ("BROADSHEET_MEDIA_S3_SECRET_ACCESS_KEY", "test-secret".to_owned()),
    ]))
    .await;
    let key = app.author_key().await;
    let (status, image) = upload_as(&app, &key, "photo.jpg", "image/jpeg", &jpeg_with_gps(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    let path = image["path"].as_str().unwrap();
    let stored_key = path.trim_start_matches("/media/");

    // In the bucket, under the prefix: not in the data folder.
    use object_store::ObjectStoreExt;
    let bucket = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("broadsheet-media")
        .with_region("us-east-1")
        .with_endpoint(&s3.endpoint)
        .with_allow_http(true)
        .with_access_key_id("test-key")
        .with_secret_access_key("test-secret")
        .build()
        .unwrap();
    let in_bucket = bucket
        .get(&object_store::path::Path::from(format!("news/{stored_key}")))
        .await
        .expect("the original is in the bucket under the prefix")
        .bytes()
        .await
        .unwrap();
    assert!(!app.data_dir.path().join("media").join(stored_key).exists());

    // Another instance serves the same bytes, and the copies.
    let other = app.second_instance().await;
    let client = reqwest::Client::new();
    let served = client.get(format!("{other}{path}")).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(served.bytes().await.unwrap(), in_bucket);
    for variant in image["variants"].as_array().unwrap() {
        let url = variant["url"].as_str().unwrap();
        let variant_path = &url[url.find("/media/").unwrap()..];
        let served = client.get(format!("{other}{variant_path}")).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK, "{variant_path}");
    }
    let missing = client
        .get(format!("{other}/media/{}.jpg", "1".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
