// Package letter renders Relance's postal letters as PDF (A4, for a window
// envelope) and hands them to a letter provider.
//
// Rendering is separate from sending (RenderPDF) so that the preview of a
// letter (docs/domain.md §1.7) is the document the provider receives: the same
// text in the same places. (Not the same bytes: the PDF library writes its
// font objects in map order and stamps a creation date.)
//
// # Choosing a letter provider
//
// Relance renders every letter itself and gives the finished PDF to one of
// two providers, chosen by configuration:
//
//   - FolderProvider writes `<key>.pdf` into a folder. `relance dev` uses it
//     (the files are listed on /dev/outbox), and it suits a company that
//     prints its own mail or whose print room or hybrid-mail service picks
//     files up from a shared or synced folder.
//   - HTTPProvider posts the PDF to a print-and-mail service that speaks the
//     Lob letters API (`POST /v1/letters`, multipart, basic auth with the API
//     key, `Idempotency-Key`): Lob itself, or any service with a compatible
//     endpoint. The service prints, folds into a window envelope and posts.
//
// Both are idempotent per letter key: the folder overwrites the same file,
// and the service receives the key as Idempotency-Key, so a retried activity
// never produces a second letter.
package letter
