//! Where stored images live: a folder under the data directory by default,
//! or an S3-compatible bucket (AWS, MinIO, R2…) so that several instances
//! share one set of files. Both are `object_store` stores; this wraps the
//! two calls we make of them.

use std::sync::Arc;

use anyhow::Context;
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem, path::Path,
    prefix::PrefixStore,
};
use secrecy::ExposeSecret;

use crate::{config::Config, domain::media::MediaKey};

#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
}

impl MediaStore {
    /// The bucket when `BROADSHEET_MEDIA_S3_BUCKET` is set (credentials from
    /// the settings, else the usual `AWS_*` variables), else `data_dir/media`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let inner: Arc<dyn ObjectStore> = match &config.media_s3_bucket {
            Some(bucket) => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(&config.media_s3_region);
                if let (Some(id), Some(secret)) =
                    (&config.media_s3_access_key_id, &config.media_s3_secret_access_key)
                {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret.expose_secret());
                }
                if let Some(endpoint) = &config.media_s3_endpoint {
                    builder = builder
                        .with_endpoint(endpoint.as_str())
                        .with_allow_http(endpoint.scheme() == "http");
                }
                let bucket_store = builder.build().context("setting up the media bucket")?;
                match &config.media_s3_prefix {
                    Some(prefix) => Arc::new(PrefixStore::new(bucket_store, prefix.as_str())),
                    None => Arc::new(bucket_store),
                }
            }
            None => {
                let folder = config.media_dir();
                std::fs::create_dir_all(&folder)
                    .with_context(|| format!("creating the media folder {}", folder.display()))?;
                Arc::new(LocalFileSystem::new_with_prefix(&folder)?)
            }
        };
        Ok(Self { inner })
    }

    /// Stores `bytes` under `key`. Keys name their contents, so writing one
    /// again writes the same bytes.
    pub async fn put(&self, key: &MediaKey, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.inner
            .put(&Path::from(key.as_str()), PutPayload::from(bytes))
            .await
            .with_context(|| format!("storing {}", key.as_str()))?;
        Ok(())
    }

    /// The file under `key`, or `None`.
    pub async fn get(&self, key: &MediaKey) -> anyhow::Result<Option<bytes::Bytes>> {
        match self.inner.get(&Path::from(key.as_str())).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .with_context(|| format!("reading {}", key.as_str()))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", key.as_str())),
        }
    }
}
