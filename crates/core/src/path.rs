//! Datastore paths (`/namespace/Class/Instance[/attribute]`) as `MiqAePath` builds and
//! splits them. Case is kept and nothing is unescaped.

use std::fmt;

/// A datastore path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AePath {
    /// The namespace, possibly several segments (`Dom/A/B`); `""` when absent after a split.
    pub namespace: Option<String>,
    /// The class.
    pub class: Option<String>,
    /// The instance.
    pub instance: Option<String>,
    /// The attribute, when the path names one.
    pub attribute: Option<String>,
}

/// Options of [`AePath::split`], with the engine's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitOptions {
    /// The last segment is an instance name (default `true`).
    pub has_instance_name: bool,
    /// The last segment is an attribute name (default `false`).
    pub has_attribute_name: bool,
    /// Lowercase every part (default `false`).
    pub downcase: bool,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            has_instance_name: true,
            has_attribute_name: false,
            downcase: false,
        }
    }
}

impl AePath {
    /// A path from its parts.
    pub fn new(
        namespace: Option<&str>,
        class: Option<&str>,
        instance: Option<&str>,
        attribute: Option<&str>,
    ) -> Self {
        AePath {
            namespace: namespace.map(str::to_string),
            class: class.map(str::to_string),
            instance: instance.map(str::to_string),
            attribute: attribute.map(str::to_string),
        }
    }

    /// Splits a path as `MiqAePath.split` does: `/A/B/C/D` → ns `A/B`, class `C`, instance `D`.
    pub fn split(path: &str, options: SplitOptions) -> AePath {
        let mut parts: Vec<Option<String>> = ruby_split(path, '/')
            .into_iter()
            .map(|p| Some(p.to_string()))
            .collect();
        if path.ends_with('/') && options.has_instance_name {
            parts.push(None);
        }
        if path.starts_with('/') && !parts.is_empty() {
            parts.remove(0);
        }
        let attribute = if options.has_attribute_name {
            parts.pop().flatten()
        } else {
            None
        };
        let instance = if options.has_instance_name {
            parts.pop().flatten()
        } else {
            None
        };
        let class = parts.pop().flatten();
        let namespace = parts
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect::<Vec<_>>()
            .join("/");
        let case = |s: String| {
            if options.downcase {
                s.to_lowercase()
            } else {
                s
            }
        };
        AePath {
            namespace: Some(case(namespace)),
            class: class.map(case),
            instance: instance.map(case),
            attribute: attribute.map(case),
        }
    }

    /// `MiqAePath.join(ns, class, instance, attribute)`: `/ns/class/instance[/attribute]`;
    /// the attribute is omitted only when absent (an empty one leaves a trailing `/`).
    pub fn join(
        namespace: Option<&str>,
        class: Option<&str>,
        instance: Option<&str>,
        attribute: Option<&str>,
    ) -> String {
        let mut out = format!(
            "/{}/{}/{}",
            namespace.unwrap_or(""),
            class.unwrap_or(""),
            instance.unwrap_or("")
        );
        if let Some(a) = attribute {
            out.push('/');
            out.push_str(a);
        }
        out
    }

    /// The namespace without its first segment (the domain): what named-ancestor lookups
    /// compare against.
    pub fn namespace_sans_domain(&self) -> String {
        self.namespace
            .as_deref()
            .unwrap_or("")
            .split_once('/')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    }
}

impl fmt::Display for AePath {
    /// `MiqAePath#to_s`: `""` when every part is blank, else `/ns/class/instance[/attr]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blank = |p: &Option<String>| p.as_deref().is_none_or(|s| s.trim().is_empty());
        if [
            &self.namespace,
            &self.class,
            &self.instance,
            &self.attribute,
        ]
        .into_iter()
        .all(blank)
        {
            return Ok(());
        }
        write!(
            f,
            "/{}/{}/{}",
            self.namespace.as_deref().unwrap_or(""),
            self.class.as_deref().unwrap_or(""),
            self.instance.as_deref().unwrap_or("")
        )?;
        if !blank(&self.attribute) {
            write!(f, "/{}", self.attribute.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

/// Ruby's `String#split(sep)`: trailing empty fields are dropped, inner ones kept.
pub fn ruby_split(text: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(sep).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(path: &str) -> (String, Option<String>, Option<String>, Option<String>) {
        let p = AePath::split(path, SplitOptions::default());
        (p.namespace.unwrap(), p.class, p.instance, p.attribute)
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    // miq_ae_path_spec.rb #to_s
    #[test]
    fn to_s_cases() {
        assert_eq!(AePath::default().to_string(), "");
        assert_eq!(
            AePath::new(Some("NAMESPACE"), None, None, None).to_string(),
            "/NAMESPACE//"
        );
        assert_eq!(
            AePath::new(Some("NAMESPACE/FOO"), None, None, None).to_string(),
            "/NAMESPACE/FOO//"
        );
        assert_eq!(
            AePath::new(Some("NAMESPACE"), Some("CLASS"), None, None).to_string(),
            "/NAMESPACE/CLASS/"
        );
        assert_eq!(
            AePath::new(Some("NAMESPACE"), Some("CLASS"), Some("INSTANCE"), None).to_string(),
            "/NAMESPACE/CLASS/INSTANCE"
        );
        assert_eq!(
            AePath::new(
                Some("NAMESPACE"),
                Some("CLASS"),
                Some("INSTANCE"),
                Some("ATTRIBUTE")
            )
            .to_string(),
            "/NAMESPACE/CLASS/INSTANCE/ATTRIBUTE"
        );
    }

    // miq_ae_path_spec.rb .split and .parse
    #[test]
    fn split_cases() {
        assert_eq!(split("/A/B/C/D"), ("A/B".into(), s("C"), s("D"), None));
        assert_eq!(split("/A/B/"), ("A".into(), s("B"), None, None));
        assert_eq!(split("/CLS/INST"), ("".into(), s("CLS"), s("INST"), None));
        assert_eq!(split("INST"), ("".into(), None, s("INST"), None));
        assert_eq!(split(""), ("".into(), None, None, None));
        assert_eq!(split("/NS//"), ("".into(), s("NS"), None, None));
        assert_eq!(
            split("/NS/TEST_CLASS/test3%20with%20blank"),
            (
                "NS".into(),
                s("TEST_CLASS"),
                s("test3%20with%20blank"),
                None
            )
        );
        let no_instance = AePath::split(
            "/TEST_NAMESPACE/TEST_CLASS/TEST_INSTANCE",
            SplitOptions {
                has_instance_name: false,
                ..SplitOptions::default()
            },
        );
        assert_eq!(
            no_instance.namespace.as_deref(),
            Some("TEST_NAMESPACE/TEST_CLASS")
        );
        assert_eq!(no_instance.class.as_deref(), Some("TEST_INSTANCE"));
        let with_attr = AePath::split(
            "/TEST_NAMESPACE/TEST_CLASS/TEST_INSTANCE/attr1",
            SplitOptions {
                has_attribute_name: true,
                ..SplitOptions::default()
            },
        );
        assert_eq!(with_attr.attribute.as_deref(), Some("attr1"));
        assert_eq!(with_attr.instance.as_deref(), Some("TEST_INSTANCE"));
        let round = AePath::split(
            "/TEST_NAMESPACE/TEST_CLASS/TEST_INSTANCE",
            SplitOptions::default(),
        );
        assert_eq!(
            round.to_string(),
            "/TEST_NAMESPACE/TEST_CLASS/TEST_INSTANCE"
        );
        let lower = AePath::split(
            "/A/B/C",
            SplitOptions {
                downcase: true,
                ..SplitOptions::default()
            },
        );
        assert_eq!(lower.class.as_deref(), Some("b"));
    }

    #[test]
    fn join_and_domain() {
        assert_eq!(
            AePath::join(Some("ns"), Some("k"), Some("i"), None),
            "/ns/k/i"
        );
        assert_eq!(
            AePath::join(Some("ns"), Some("k"), Some("i"), Some("")),
            "/ns/k/i/"
        );
        let p = AePath::split("/Dom/A/B/Cls/Inst", SplitOptions::default());
        assert_eq!(p.namespace_sans_domain(), "A/B");
    }
}
