// Package qrtest decodes QR-code images in tests, with the pure-Go ZXing port gozxing, so that every
// PNG the module draws (emulated mini-program codes, authorisation-link codes) is checked by reading
// it back. Only tests import it.
package qrtest

import (
	"bytes"
	"image"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Decode returns the text of the QR code in the image data (PNG or JPEG).
func Decode(data []byte) (string, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	return DecodeImage(img)
}

// DecodeImage returns the text of the QR code in img.
func DecodeImage(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		// Retry without the pure-barcode hint, for images with a logo or a margin.
		res, err = qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			return "", err
		}
	}
	return res.GetText(), nil
}
