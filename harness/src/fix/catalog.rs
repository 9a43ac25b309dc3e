//! What the registries hold, for the oracle: the images a scenario pushes, with the
//! facts that decide a pull (schema 1, an index without linux/amd64).

use std::collections::BTreeMap;

use mock_azure::appservice::oracle::{ImageCatalog, ImageFacts};

use crate::scenario::Scenario;

/// The images of a scenario's registries, by registry, repository and tag.
#[derive(Debug, Clone, Default)]
pub struct Catalog(BTreeMap<(String, String, String), ImageFacts>);

impl Catalog {
    /// The images `s` pushes.
    pub fn of(s: &Scenario) -> Catalog {
        let mut out = BTreeMap::new();
        for r in &s.topology.registries {
            for img in &r.images {
                let facts = if img.schema1 {
                    ImageFacts::Schema1
                } else if !img.platforms.is_empty() && !img.platforms.iter().any(|p| p == "linux/amd64") {
                    ImageFacts::NoAmd64
                } else {
                    ImageFacts::Pullable
                };
                out.insert((r.name.to_ascii_lowercase(), img.repo.clone(), img.tag.clone()), facts);
            }
        }
        Catalog(out)
    }

    /// Tags of `repo` in `registry` that App Service can pull.
    pub fn pullable_tags(&self, registry: &str, repo: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|((r, p, _), f)| r.eq_ignore_ascii_case(registry) && p == repo && **f == ImageFacts::Pullable)
            .map(|((_, _, t), _)| t.clone())
            .collect()
    }
}

impl ImageCatalog for Catalog {
    fn facts(&self, registry: &str, repo: &str, reference: &str) -> ImageFacts {
        self.0
            .get(&(registry.to_ascii_lowercase(), repo.to_string(), reference.to_string()))
            .copied()
            .unwrap_or(ImageFacts::Missing)
    }
}
