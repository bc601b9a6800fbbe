//! [`named_enum!`]: the one place that turns a field-less enum's variants into
//! their config names. It declares the enum as written and gives it `ALL`
//! (every variant, in declaration order), `name()` (the config / metrics-label
//! name), and optionally `Display` (the name) and `FromStr` (the name, any
//! case, `-` and `_` alike, else an [`ErrorKind::InvalidConfig`] error
//! "`<what>` `x` is not one of a, b, c").
//!
//! ```ignore
//! named_enum! {
//!     /// What the slab's ordered queue does when full.
//!     #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
//!     pub enum DropPolicy {
//!         #[default]
//!         Latest = "latest",
//!         DropNewest = "drop-newest",
//!     }
//!     display;
//!     parse "drop policy";
//! }
//! ```
//!
//! [`ErrorKind::InvalidConfig`]: crate::ErrorKind::InvalidConfig

/// Declares a field-less enum with `ALL`, `name()`, and on request `Display`
/// (`display;`) and `FromStr` (`parse "what";`). See the [module docs](self).
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $enum:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $name:literal ),+ $(,)?
        }
        $($option:ident $($what:literal)?;)*
    ) => {
        $(#[$meta])*
        $vis enum $enum {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $enum {
            /// Every variant, in declaration order.
            pub const ALL: [$enum; [$(stringify!($variant)),+].len()] = [$($enum::$variant),+];

            /// The name used in configs, on the command line and in metrics labels.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name),+
                }
            }
        }

        $($crate::names::named_enum!(@option $enum, $option $($what)?);)*
    };
    (@option $enum:ident, display) => {
        impl ::std::fmt::Display for $enum {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
    (@option $enum:ident, parse $what:literal) => {
        impl ::std::str::FromStr for $enum {
            type Err = $crate::Error;

            fn from_str(text: &str) -> $crate::Result<Self> {
                $crate::names::find(&Self::ALL, Self::name, text).ok_or_else(|| {
                    $crate::Error::new(
                        $crate::ErrorKind::InvalidConfig,
                        $crate::names::not_one_of($what, text, Self::ALL.map(Self::name)),
                    )
                })
            }
        }
    };
}

pub(crate) use named_enum;

/// The variant of `all` named `text` (any case, `-` and `_` alike).
pub(crate) fn find<T: Copy>(all: &[T], name: fn(T) -> &'static str, text: &str) -> Option<T> {
    let same = |a: u8, b: u8| {
        let fold = |c: u8| {
            if c == b'-' {
                b'_'
            } else {
                c.to_ascii_lowercase()
            }
        };
        fold(a) == fold(b)
    };
    all.iter().copied().find(|&variant| {
        let name = name(variant).as_bytes();
        name.len() == text.len() && name.iter().zip(text.as_bytes()).all(|(&a, &b)| same(a, b))
    })
}

/// "`<what>` `text` is not one of a, b, c".
pub(crate) fn not_one_of<const N: usize>(what: &str, text: &str, names: [&str; N]) -> String {
    format!("{what} `{text}` is not one of {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test enum.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Colour {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark-blue",
        }
        display;
        parse "colour";
    }

    #[test]
    fn names_display_and_parse() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        assert_eq!(Colour::DarkBlue.name(), "dark-blue");
        assert_eq!(Colour::DarkBlue.to_string(), "dark-blue");
        for text in ["dark-blue", "DARK_BLUE", "Dark-Blue"] {
            assert_eq!(text.parse::<Colour>().unwrap(), Colour::DarkBlue, "{text}");
        }
        let error = "green".parse::<Colour>().unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidConfig);
        assert_eq!(
            error.message(),
            "colour `green` is not one of red, dark-blue"
        );
        assert!("re".parse::<Colour>().is_err());
    }
}
