package ca

import "strings"

// PlatformFromUserAgent reads a device platform for the platform condition
// from a User-Agent ("" when it cannot tell). The sign-in engine and the
// impact replay both use it, so a replayed sign-in is seen as it was.
func PlatformFromUserAgent(ua string) string {
	switch u := strings.ToLower(ua); {
	case strings.Contains(u, "windows phone"):
		return "windowsPhone"
	case strings.Contains(u, "android"):
		return "android"
	case strings.Contains(u, "iphone"), strings.Contains(u, "ipad"), strings.Contains(u, "ios"):
		return "iOS"
	case strings.Contains(u, "windows"):
		return "windows"
	case strings.Contains(u, "mac os x"), strings.Contains(u, "macintosh"):
		return "macOS"
	case strings.Contains(u, "linux"):
		return "linux"
	}
	return ""
}
