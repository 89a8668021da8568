//! Validation: the broadcaster's checks of each rendition it gets back (decodes, size, frame count,
//! keyframe at start, pixel count equal to the billed count).
